package io.dstack.vpn.agent;

import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;

import io.dstack.vpn.agent.uapi.DeviceState;
import io.dstack.vpn.agent.uapi.PeerState;
import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.status.ConditionSet;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

/**
 * Writes this node's part of its VpnPeer status with server-side apply as the agent field manager:
 * {@code status.applied} and the condition {@code Applied}. A new generation or a change between success and
 * failure is reported at once; stats alone at most every {@code statsInterval}.
 */
final class StatusReporter {
    static final long RECENT_HANDSHAKE_SECONDS = 180;
    static final String REASON_APPLIED = "Applied";
    static final String REASON_FAILED = "ApplyFailed";

    private final KubernetesClient client;
    private final AgentConfig config;
    private final Clock clock;
    private final long statsIntervalMillis;
    private long lastReportedGeneration = -1;
    private long lastReportMillis;
    /** The conditions last written: the transition time carries over while the status stays. */
    private List<Condition> lastConditions;
    private Boolean lastOk;

    StatusReporter(KubernetesClient client, AgentConfig config) {
        this.client = client;
        this.config = config;
        this.clock = Clock.systemUTC();
        this.statsIntervalMillis = config.statsSeconds() * 1000L;
    }

    /** @param device the device as just read, for the stats; null reports none (zero) */
    synchronized void report(long generation, int peersConfigured, DeviceState device, String error) {
        long now = clock.millis();
        boolean ok = error == null;
        if (generation == lastReportedGeneration && Boolean.valueOf(ok).equals(lastOk) && now - lastReportMillis < statsIntervalMillis) {
            return;
        }
        VpnPeerStatus status = status(generation, peersConfigured, device, error, config.iface(), lastConditions, clock);
        Map<String, Object> body = Map.of("apiVersion", HasMetadata.getApiVersion(VpnPeer.class), "kind", HasMetadata.getKind(VpnPeer.class),
                "metadata", Map.of("name", config.peerName(), "namespace", config.namespace()), "status", status);
        client.resources(VpnPeer.class).inNamespace(config.namespace()).withName(config.peerName()).subresource("status")
                .patch(new PatchContext.Builder().withPatchType(PatchType.SERVER_SIDE_APPLY)
                        .withFieldManager(VpnLabels.FIELD_MANAGER_AGENT).withForce(true).build(),
                        client.getKubernetesSerialization().asJson(body));
        lastReportedGeneration = generation;
        lastReportMillis = now;
        lastConditions = status.conditions;
        lastOk = ok;
    }

    /** The agent's fields of the status, and nothing else (the other writers own the rest). */
    static VpnPeerStatus status(long generation, int peersConfigured, DeviceState device, String error, String iface,
            List<Condition> previous, Clock clock) {
        long nowSeconds = clock.millis() / 1000;
        VpnPeerStatus.AppliedState applied = new VpnPeerStatus.AppliedState();
        applied.generation = generation;
        applied.time = Instant.now(clock).truncatedTo(ChronoUnit.SECONDS).toString();
        applied.peersConfigured = peersConfigured;
        int recent = 0;
        long rx = 0;
        long tx = 0;
        if (device != null) {
            for (PeerState p : device.peers().values()) {
                if (p.lastHandshakeEpochSeconds() > 0 && nowSeconds - p.lastHandshakeEpochSeconds() <= RECENT_HANDSHAKE_SECONDS) {
                    recent++;
                }
                rx += p.rxBytes();
                tx += p.txBytes();
            }
        }
        applied.peersWithRecentHandshake = recent;
        applied.rxBytes = rx;
        applied.txBytes = tx;
        boolean ok = error == null;
        VpnPeerStatus status = new VpnPeerStatus();
        status.applied = applied;
        status.conditions = new ConditionSet(previous, clock)
                .set(Conditions.APPLIED, ok, ok ? REASON_APPLIED : REASON_FAILED,
                        ok ? "peer set generation " + generation + " applied to " + iface : error)
                .build();
        return status;
    }
}
