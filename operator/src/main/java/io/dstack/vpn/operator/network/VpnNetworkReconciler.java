package io.dstack.vpn.operator.network;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;

import jakarta.annotation.PreDestroy;
import jakarta.inject.Inject;

import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.peerset.StoredPeerSet;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnNetworkStatus;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.operator.access.AccessDecision;
import io.dstack.vpn.operator.access.MembershipResolver;
import io.dstack.vpn.operator.cache.PrunedVpnPeerStore;
import io.dstack.vpn.operator.access.OutsidePeer;
import io.dstack.vpn.operator.chain.ChainSourceCleanup;
import io.dstack.vpn.operator.chain.ChainSources;
import io.dstack.vpn.operator.chain.ChainStatus;
import io.dstack.vpn.operator.events.EventRecorder;
import io.dstack.vpn.operator.ipam.Ipv4Cidr;
import io.dstack.vpn.operator.peer.PeersByNetwork;
import io.dstack.vpn.operator.peerset.PeerSetLayout;
import io.dstack.vpn.operator.peerset.PeerSetSharder;
import io.dstack.vpn.operator.status.StatusApplier;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
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
 * Owns a network's membership view. Each pass observes (the network's VpnPeers, their access decisions via
 * {@link MembershipResolver}, the stored peer-set ConfigMap, the chain source's health), plans
 * ({@link NetworkPlanner}: addresses and the rendered peer set), applies the plan (one ConfigMap per network:
 * one write per change, whatever the number of nodes; then each changed peer's {@code status.address}, as
 * the IPAM field manager and nothing else of the peer; Events and metrics) and writes the network's status
 * ({@link NetworkStatusAggregator}).
 */
@ControllerConfiguration(name = VpnNetworkReconciler.NAME)
public class VpnNetworkReconciler implements Reconciler<VpnNetwork> {
    public static final String NAME = "vpnnetwork";
    static final String PEERS_SOURCE = "peers";
    /** Concurrent {@code status.address} writes: a network of 5,000 new peers took a minute one by one. */
    static final int ADDRESS_WRITERS = 8;

    @Inject
    MembershipResolver membership;
    @Inject
    StatusApplier statusApplier;
    @Inject
    EventRecorder events;
    @Inject
    NetworkMetrics metrics;
    @Inject
    KubernetesSerialization serialization;
    @Inject
    ChainSources chainSources;

    /** Shard sizes; unit tests lower them to get several shards from a few peers. */
    PeerSetSharder.Limits shardLimits = PeerSetSharder.Limits.DEFAULT;

    private final Clock clock = Clock.systemUTC();
    private final ExecutorService addressWriters = Executors.newFixedThreadPool(ADDRESS_WRITERS, r -> {
        Thread t = new Thread(r, "ipam-status-writer");
        t.setDaemon(true);
        return t;
    });

    @Override
    public List<EventSource<?, VpnNetwork>> prepareEventSources(EventSourceContext<VpnNetwork> context) {
        var peers = InformerEventSourceConfiguration.from(VpnPeer.class, VpnNetwork.class)
                .withName(PEERS_SOURCE)
                .withItemStore(new PrunedVpnPeerStore())
                .withSecondaryToPrimaryMapper((VpnPeer p) -> p.getSpec() == null ? Set.of()
                        : Set.of(new ResourceID(p.getSpec().network, p.getMetadata().getNamespace())))
                // Agents update their stats often; only spec changes and applied generations matter here.
                .withOnUpdateFilter((VpnPeer n, VpnPeer o) -> !Objects.equals(n.getMetadata().getGeneration(), o.getMetadata().getGeneration())
                        || !Objects.equals(NetworkPlanner.appliedGeneration(n), NetworkPlanner.appliedGeneration(o)))
                .build();
        var configMaps = InformerEventSourceConfiguration.from(ConfigMap.class, VpnNetwork.class)
                .withName("peersets")
                .withLabelSelector(VpnLabels.COMPONENT + "=" + VpnLabels.COMPONENT_PEERSET)
                .withSecondaryToPrimaryMapper((ConfigMap cm) -> {
                    String network = cm.getMetadata().getLabels().get(VpnLabels.NETWORK);
                    return network == null ? Set.of() : Set.of(new ResourceID(network, cm.getMetadata().getNamespace()));
                })
                .build();
        // The chain follower runs outside any reconcile; it wakes the network when a decision or its health changes.
        SimpleInboundEventSource<VpnNetwork> chain = new SimpleInboundEventSource<>("chain");
        chainSources.onNetworkChange(chain::propagateEvent);
        InformerEventSource<VpnPeer, VpnNetwork> peerSource = new InformerEventSource<>(peers, context);
        peerSource.addIndexers(Map.of(PeersByNetwork.INDEX, PeersByNetwork::keysOf));
        // Stops the chain source of a deleted network, outside any reconcile and without a finalizer (ADR 0014).
        return List.of(peerSource, new InformerEventSource<>(configMaps, context), chain, new ChainSourceCleanup(context, chainSources));
    }

    /**
     * The network's VpnPeers from the informer's index. Not {@code context.getSecondaryResources}: it collects
     * them into a HashSet, hashing every VpnPeer deeply (metadata with managedFields, spec, status), which was
     * half the CPU of a reconcile at 5,000 peers.
     */
    @SuppressWarnings("unchecked")
    private static List<VpnPeer> peersOf(VpnNetwork network, Context<VpnNetwork> context) {
        var source = (InformerEventSource<VpnPeer, VpnNetwork>) context.eventSourceRetriever()
                .getEventSourceFor(VpnPeer.class, PEERS_SOURCE);
        return source.byIndex(PeersByNetwork.INDEX, PeersByNetwork.key(network.getMetadata().getNamespace(), network.getMetadata().getName()));
    }

    @Override
    public UpdateControl<VpnNetwork> reconcile(VpnNetwork network, Context<VpnNetwork> context) {
        return metrics.renderTimer().record(() -> doReconcile(network, context));
    }

    /** Observe, plan ({@link NetworkPlanner}), apply, then the status ({@link NetworkStatusAggregator}). */
    private UpdateControl<VpnNetwork> doReconcile(VpnNetwork network, Context<VpnNetwork> context) {
        NetworkStatusAggregator status = new NetworkStatusAggregator(network, clock);
        NetworkEvents announce = new NetworkEvents(events, network);
        Ipv4Cidr cidr;
        try {
            cidr = Ipv4Cidr.parse(network.getSpec().cidr);
        } catch (IllegalArgumentException e) {
            return patchIfChanged(network, status.invalidCidr(e.getMessage()));
        }
        status.specValid();
        VpnNetworkStatus.ChainPosition chainPosition = null;
        if (network.getSpec().access.chain != null) {
            try {
                chainSources.ensure(network);
            } catch (IllegalArgumentException e) {
                return patchIfChanged(network, status.rpcConfigInvalid(e.getMessage()));
            }
            chainPosition = ChainStatus.position(chainSources, network);
            ChainStatus.conditions(chainSources, network, status.conditions());
            announce.chainTrouble(status.conditions());
            if (!membership.ready(network)) {
                // Keep the last rendered peer set and addresses: a restart or a slow first sync must not flap.
                return patchIfChanged(network, status.waitingForChain(chainPosition));
            }
        }

        // Observe: the members, their access decisions, what the peer-set ConfigMap holds, the outside peers.
        List<VpnPeer> peers = MembershipResolver.members(network, peersOf(network, context));
        Map<String, AccessDecision> decisions = membership.resolve(network, peers);
        Map<String, ConfigMap> stored = context.getSecondaryResourcesAsStream(ConfigMap.class)
                .collect(Collectors.toMap(cm -> cm.getMetadata().getName(), cm -> cm, (a, b) -> a));
        StoredPeerSet storedSet = PeerSetConfigMap.read(network, stored.values());
        Map<String, String> storedAllocations = PeerSetConfigMap.readAllocations(storedSet, peers);
        List<OutsidePeer> outside = membership.outsidePeers(network, peers);

        NetworkPlan plan = NetworkPlanner.plan(new NetworkPlanner.Observed(network, cidr, peers, decisions, outside, storedSet,
                storedAllocations, shardLimits));

        // Apply, in the order of ADR 0003: the peer-set objects (peer set and IPAM record), then each changed address.
        if (plan.fits()) {
            writePeerSet(network, stored, plan.layout(), context);
            countAccessChanges(network, plan.changes());
            announce.membershipChanged(plan.changes(), plan.peerSet().generation());
        }
        writePeerAddresses(peers, plan.addressWrites());
        announce.poolExhausted(plan);

        VpnNetworkStatus next = status.planned(plan, chainPosition);
        recordMetrics(network, plan);
        return patchIfChanged(network, next);
    }

    /**
     * A reconcile threw: Ready turns False with the error (JOSDK logs it and retries with back-off), the rest of
     * the status stays. Without this the status kept saying Ready while every retry failed.
     */
    @Override
    public ErrorStatusUpdateControl<VpnNetwork> updateErrorStatus(VpnNetwork network, Context<VpnNetwork> context, Exception e) {
        VpnNetworkStatus status = new NetworkStatusAggregator(network, clock).reconcileFailed(e);
        if (sameJson(status, network.getStatus())) {
            return ErrorStatusUpdateControl.noStatusUpdate();
        }
        network.setStatus(status);
        network.getMetadata().setResourceVersion(null);
        return ErrorStatusUpdateControl.patchStatus(network);
    }

    private boolean sameJson(VpnNetworkStatus a, VpnNetworkStatus b) {
        return serialization.asJson(a).equals(serialization.asJson(b));
    }

    private UpdateControl<VpnNetwork> patchIfChanged(VpnNetwork network, VpnNetworkStatus status) {
        if (sameJson(status, network.getStatus())) {
            return UpdateControl.noUpdate();
        }
        network.setStatus(status);
        // The operator is the only writer of network status: apply without optimistic locking, so a
        // concurrent change of the spec does not turn every status write into a 409 and a retry.
        network.getMetadata().setResourceVersion(null);
        return UpdateControl.patchStatus(network);
    }

    /**
     * Writes what changed, in the order agents rely on (ADR 0002): the changed shards, then the index that lists
     * them, then deletes the objects of an older layout (the index no longer names them). A one-peer change writes
     * one shard and the index. Through JOSDK, so each write lands in the informer cache at once: the next reconcile
     * must see our own writes, or it would render again from a stale view (and bump the generation twice).
     */
    private void writePeerSet(VpnNetwork network, Map<String, ConfigMap> stored, PeerSetLayout layout, Context<VpnNetwork> context) {
        Set<String> current = new java.util.HashSet<>();
        for (PeerSetLayout.Shard shard : layout.shards()) {
            current.add(shard.name());
            if (!PeerSetConfigMap.holds(stored.get(shard.name()), PeerSetConfigMap.shardData(shard))) {
                context.resourceOperations().serverSideApply(PeerSetConfigMap.shard(network, shard));
            }
        }
        String indexName = PeerSetCodec.configMapName(network.getMetadata().getName());
        current.add(indexName);
        if (!PeerSetConfigMap.holds(stored.get(indexName), PeerSetConfigMap.indexData(layout))) {
            context.resourceOperations().serverSideApply(PeerSetConfigMap.index(network, layout));
        }
        // Only objects this network owns: a look-alike someone labelled by hand is left alone.
        stored.values().stream()
                .filter(cm -> !current.contains(cm.getMetadata().getName()))
                .filter(cm -> cm.getMetadata().getOwnerReferences().stream().anyMatch(o -> o.getUid().equals(network.getMetadata().getUid())))
                .forEach(cm -> context.getClient().resource(cm).delete());
    }

    /**
     * Applies each changed {@code status.address}, {@link #ADDRESS_WRITERS} at a time, and returns when all are
     * written (a failure fails the reconcile, which is retried). One by one, the initial load of 5,000 peers kept
     * the reconcile busy for about a minute, and every access change in that time waited for it.
     *
     * @param writes peer name to the address it must show (null: none), from the plan
     */
    private void writePeerAddresses(List<VpnPeer> peers, Map<String, String> writes) {
        List<CompletableFuture<Void>> pending = new ArrayList<>();
        for (VpnPeer p : peers) {
            if (writes.containsKey(p.getMetadata().getName())) {
                String want = writes.get(p.getMetadata().getName());
                Map<String, Object> owned = want == null ? Map.of() : Map.of("address", want);
                pending.add(CompletableFuture.runAsync(() -> statusApplier.apply(p, VpnLabels.FIELD_MANAGER_IPAM, owned), addressWriters));
            }
        }
        try {
            CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    private void countAccessChanges(VpnNetwork network, NetworkPlan.MembershipChange changes) {
        String ns = network.getMetadata().getNamespace();
        String name = network.getMetadata().getName();
        changes.added().forEach(nodeId -> metrics.accessChange(ns, name, "added"));
        changes.removed().forEach(nodeId -> metrics.accessChange(ns, name, "removed"));
    }

    private void recordMetrics(VpnNetwork network, NetworkPlan plan) {
        String ns = network.getMetadata().getNamespace();
        String name = network.getMetadata().getName();
        metrics.addresses(ns, name, plan.addresses().assigned().size(), plan.addresses().capacity());
        metrics.peerSet(ns, name, plan.peerSet().generation(), plan.bytes(), plan.layout().shards().size(),
                plan.convergence().nodesApplied());
        for (VpnPeerPhase phase : VpnPeerPhase.values()) {
            metrics.peers(ns, name, phase.name(), plan.peers().of(phase));
        }
    }

    @PreDestroy
    void shutdown() {
        addressWriters.shutdownNow();
    }
}
