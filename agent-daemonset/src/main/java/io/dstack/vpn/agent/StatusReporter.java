package io.dstack.vpn.agent;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.agent.uapi.DeviceState;
import io.dstack.vpn.agent.uapi.PeerState;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

/**
 * Writes this node's part of its VpnPeer status with server-side apply as the agent field manager:
 * {@code status.applied} and the condition {@code Applied}. A new generation is reported at once; stats
 * alone at most every {@code statsInterval}.
 */
final class StatusReporter {
    static final long RECENT_HANDSHAKE_SECONDS = 180;

    private final KubernetesClient client;
    private final AgentConfig config;
    private final long statsIntervalMillis;
    private long lastReportedGeneration = -1;
    private long lastReportMillis;
    private String lastTransition;
    private Boolean lastOk;

    StatusReporter(KubernetesClient client, AgentConfig config) {
        this.client = client;
        this.config = config;
        this.statsIntervalMillis = config.statsSeconds() * 1000L;
    }

    synchronized void report(long generation, int peersConfigured, DeviceState device, String error) {
        long now = System.currentTimeMillis();
        boolean ok = error == null;
        if (generation == lastReportedGeneration && Boolean.valueOf(ok).equals(lastOk) && now - lastReportMillis < statsIntervalMillis) {
            return;
        }
        if (!Boolean.valueOf(ok).equals(lastOk) || lastTransition == null) {
            lastTransition = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        }
        long nowSeconds = now / 1000;
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
        Map<String, Object> applied = new LinkedHashMap<>();
        applied.put("generation", generation);
        applied.put("time", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        applied.put("peersConfigured", peersConfigured);
        applied.put("peersWithRecentHandshake", recent);
        applied.put("rxBytes", rx);
        applied.put("txBytes", tx);
        Map<String, Object> condition = new LinkedHashMap<>();
        condition.put("type", "Applied");
        condition.put("status", ok ? "True" : "False");
        condition.put("reason", ok ? "Applied" : "ApplyFailed");
        condition.put("message", ok ? "peer set generation " + generation + " applied to " + config.iface() : error);
        condition.put("lastTransitionTime", lastTransition);
        Map<String, Object> status = new LinkedHashMap<>();
        status.put("applied", applied);
        status.put("conditions", List.of(condition));
        Map<String, Object> body = Map.of("apiVersion", "vpn.dstack.io/v1alpha1", "kind", "VpnPeer",
                "metadata", Map.of("name", config.peerName(), "namespace", config.namespace()), "status", status);
        client.resources(VpnPeer.class).inNamespace(config.namespace()).withName(config.peerName()).subresource("status")
                .patch(new PatchContext.Builder().withPatchType(PatchType.SERVER_SIDE_APPLY)
                        .withFieldManager(VpnLabels.FIELD_MANAGER_AGENT).withForce(true).build(),
                        client.getKubernetesSerialization().asJson(body));
        lastReportedGeneration = generation;
        lastReportMillis = now;
        lastOk = ok;
    }
}
