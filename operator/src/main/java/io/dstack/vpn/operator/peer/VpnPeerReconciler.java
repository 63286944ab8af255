package io.dstack.vpn.operator.peer;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

import jakarta.inject.Inject;

import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.status.ConditionSet;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.api.v1alpha1.VpnPeerStatus;
import io.dstack.vpn.operator.access.AccessDecision;
import io.dstack.vpn.operator.access.MembershipResolver;
import io.dstack.vpn.operator.cache.PrunedVpnPeerStore;
import io.dstack.vpn.operator.chain.ChainSources;
import io.dstack.vpn.operator.events.EventRecorder;
import io.dstack.vpn.operator.status.Failures;
import io.dstack.vpn.operator.status.StatusApplier;
import io.fabric8.kubernetes.api.model.Condition;
import io.javaoperatorsdk.operator.api.config.informer.Informer;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.inbound.SimpleInboundEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;

/**
 * Reports each peer's admission in its status (phase, reason, token, condition Admitted) as the admission
 * field manager, and records an Event when the phase changes. It decides with the same
 * {@link MembershipResolver} as the network reconciler, which does the rendering.
 */
@ControllerConfiguration(name = VpnPeerReconciler.NAME, informer = @Informer(itemStore = PrunedVpnPeerStore.class))
public class VpnPeerReconciler implements Reconciler<VpnPeer> {
    public static final String NAME = "vpnpeer";
    static final String BY_NODE_ID = "byNodeId";
    /** A peer denied because a sibling holds its node id is re-checked this often (the sibling may go away). */
    static final Duration DUPLICATE_RECHECK = Duration.ofSeconds(30);

    @Inject
    MembershipResolver membership;
    @Inject
    StatusApplier statusApplier;
    @Inject
    EventRecorder events;
    @Inject
    PeerMetrics metrics;
    @Inject
    ChainSources chainSources;

    private final Clock clock = Clock.systemUTC();

    static String nodeKey(String namespace, String network, String nodeId) {
        return namespace + "/" + network + "/" + nodeId;
    }

    @Override
    public List<EventSource<?, VpnPeer>> prepareEventSources(EventSourceContext<VpnPeer> context) {
        context.getPrimaryCache().addIndexer(PeersByNetwork.INDEX, PeersByNetwork::keysOf);
        context.getPrimaryCache().addIndexer(BY_NODE_ID, p -> p.getSpec() == null ? List.of()
                : List.of(nodeKey(p.getMetadata().getNamespace(), p.getSpec().network, p.getSpec().nodeId)));
        var networks = InformerEventSourceConfiguration.from(VpnNetwork.class, VpnPeer.class)
                .withName("networks")
                .withSecondaryToPrimaryMapper((VpnNetwork n) -> context.getPrimaryCache()
                        .byIndex(PeersByNetwork.INDEX, PeersByNetwork.key(n.getMetadata().getNamespace(), n.getMetadata().getName()))
                        .stream().map(ResourceID::fromResource).collect(Collectors.toSet()))
                .withPrimaryToSecondaryMapper((VpnPeer p) -> p.getSpec() == null ? Set.of()
                        : Set.of(new ResourceID(p.getSpec().network, p.getMetadata().getNamespace())))
                // Network status changes (written on every peer-set change) must not re-admit every peer.
                .withOnUpdateFilter((VpnNetwork n, VpnNetwork o) -> !Objects.equals(n.getMetadata().getGeneration(), o.getMetadata().getGeneration()))
                .build();
        // Chain changes arrive per node id: wake only the peers whose decision can have changed.
        SimpleInboundEventSource<VpnPeer> chain = new SimpleInboundEventSource<>("chain");
        chainSources.onNodesChange((network, nodeIds) -> context.getPrimaryCache()
                .byIndex(PeersByNetwork.INDEX, PeersByNetwork.key(network.getNamespace().orElse(""), network.getName()))
                .stream()
                .filter(p -> nodeIds == null || nodeIds.contains(p.getSpec().nodeId))
                .forEach(p -> chain.propagateEvent(ResourceID.fromResource(p))));
        return List.of(new InformerEventSource<>(networks, context), chain);
    }

    @Override
    public UpdateControl<VpnPeer> reconcile(VpnPeer peer, Context<VpnPeer> context) {
        VpnNetwork network = context.getSecondaryResource(VpnNetwork.class).orElse(null);
        if (network != null && !membership.ready(network)) {
            return UpdateControl.noUpdate(); // keep the last reported decision until the source can decide
        }
        AccessDecision decision = decide(peer, network, context);
        long generation = peer.getMetadata().getGeneration() == null ? 0 : peer.getMetadata().getGeneration();
        VpnPeerStatus old = peer.getStatus();

        ConditionSet conditions = new ConditionSet(old == null ? null : old.conditions, generation, clock);
        conditions.set(Conditions.ADMITTED, decision.admitted(), decision.reason(), decision.message());
        Condition admitted = conditions.build().get(0);

        if (!sameAdmission(old, decision, generation, admitted)) {
            Map<String, Object> owned = new LinkedHashMap<>();
            owned.put("observedGeneration", generation);
            owned.put("phase", decision.phase().name());
            owned.put("reason", decision.reason());
            owned.put("message", decision.message());
            if (decision.token() != null) {
                owned.put("token", decision.token());
            }
            owned.put("conditions", List.of(admitted));
            statusApplier.apply(peer, VpnLabels.FIELD_MANAGER_ADMISSION, owned);
            VpnPeerPhase before = old == null ? null : old.phase;
            if (before != decision.phase()) {
                announce(peer, before, decision);
            }
        }
        if ("DuplicateNodeId".equals(decision.reason())) {
            return UpdateControl.<VpnPeer> noUpdate().rescheduleAfter(DUPLICATE_RECHECK);
        }
        return UpdateControl.noUpdate();
    }

    /**
     * A reconcile threw, most likely the status write itself: a second write would fail the same way, so the
     * peer gets a Warning Event instead (JOSDK logs the error and retries with back-off), and its last reported
     * admission stays.
     */
    @Override
    public ErrorStatusUpdateControl<VpnPeer> updateErrorStatus(VpnPeer peer, Context<VpnPeer> context, Exception e) {
        events.warning(peer, "ReconcileFailed", "deciding this peer's admission failed and is retried: "
                + Failures.describe(e));
        return ErrorStatusUpdateControl.noStatusUpdate();
    }

    private AccessDecision decide(VpnPeer peer, VpnNetwork network, Context<VpnPeer> context) {
        if (network == null) {
            return AccessDecision.of(VpnPeerPhase.Pending, "NetworkNotFound",
                    "VpnNetwork " + peer.getSpec().network + " does not exist in namespace " + peer.getMetadata().getNamespace());
        }
        // Only peers with the same node id can change this peer's decision (the one-holder-per-node-id rule), so
        // resolve those, not the whole network: deciding all siblings made every peer reconcile O(peers), and
        // the initial load of a 5,000-peer network O(peers²).
        List<VpnPeer> sameNodeId = context.getPrimaryCache()
                .byIndex(BY_NODE_ID, nodeKey(peer.getMetadata().getNamespace(), peer.getSpec().network, peer.getSpec().nodeId));
        return membership.resolve(network, sameNodeId).get(peer.getMetadata().getName());
    }

    private static boolean sameAdmission(VpnPeerStatus old, AccessDecision d, long generation, Condition admitted) {
        if (old == null) {
            return false;
        }
        Condition oldAdmitted = old.conditions == null ? null
                : old.conditions.stream().filter(c -> Conditions.ADMITTED.equals(c.getType())).findFirst().orElse(null);
        return old.phase == d.phase() && Objects.equals(old.reason, d.reason()) && Objects.equals(old.message, d.message())
                && Objects.equals(old.observedGeneration, generation)
                && tokenEquals(old.token, d.token())
                && Objects.equals(oldAdmitted, admitted);
    }

    private static boolean tokenEquals(VpnPeerStatus.TokenRef a, VpnPeerStatus.TokenRef b) {
        if (a == null || b == null) {
            return a == b;
        }
        return Objects.equals(a.id, b.id) && Objects.equals(a.owner, b.owner) && Objects.equals(a.block, b.block);
    }

    private void announce(VpnPeer peer, VpnPeerPhase before, AccessDecision d) {
        metrics.transition(peer.getMetadata().getNamespace(), peer.getSpec().network, d.phase());
        String from = before == null ? "" : " (was " + before + ")";
        switch (d.phase()) {
            case Active -> events.normal(peer, "AccessGranted", d.message() + from);
            case Revoked -> events.warning(peer, "AccessRevoked", d.message() + from);
            case Denied -> events.warning(peer, "AccessDenied", d.message() + from);
            case Suspended -> events.warning(peer, "AccessSuspended", d.message() + from);
            case Pending -> events.normal(peer, "AccessPending", d.message() + from);
        }
    }
}
