package io.dstack.vpn.operator.network;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
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

import org.jboss.logging.Logger;

import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.status.ConditionSet;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnNetworkStatus;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.operator.access.AccessDecision;
import io.dstack.vpn.operator.access.MembershipResolver;
import io.dstack.vpn.operator.access.OutsidePeer;
import io.dstack.vpn.operator.chain.ChainSources;
import io.dstack.vpn.operator.chain.ChainStatus;
import io.dstack.vpn.operator.events.EventRecorder;
import io.dstack.vpn.operator.ipam.AddressAllocator;
import io.dstack.vpn.operator.ipam.Ipv4Cidr;
import io.dstack.vpn.operator.peerset.PeerSetRenderer;
import io.dstack.vpn.operator.peer.PeersByNetwork;
import io.dstack.vpn.operator.status.StatusApplier;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.inbound.SimpleInboundEventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;

/**
 * Owns a network's membership view: decides who is admitted (via {@link MembershipResolver}), assigns
 * addresses, writes the rendered peer set (one ConfigMap per network: one write per change, whatever the
 * number of nodes) and the network's status. It writes each peer's {@code status.address} as the IPAM field
 * manager and nothing else of the peer.
 */
@ControllerConfiguration(name = VpnNetworkReconciler.NAME)
public class VpnNetworkReconciler implements Reconciler<VpnNetwork> {
    public static final String NAME = "vpnnetwork";
    /** Stay clear of etcd's 1.5 MiB request limit and the 1 MiB ConfigMap limit, with room for metadata. */
    static final int MAX_PEERSET_BYTES = 900 * 1024;
    static final String PEERS_SOURCE = "peers";
    /** More nodes than this joining (or leaving) in one generation are announced in one Event, not one each. */
    static final int MAX_EVENTS_PER_KIND = 10;
    /** Concurrent {@code status.address} writes: a network of 5,000 new peers took a minute one by one. */
    static final int ADDRESS_WRITERS = 8;
    private static final Logger LOG = Logger.getLogger(VpnNetworkReconciler.class);

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
                .withSecondaryToPrimaryMapper((VpnPeer p) -> p.getSpec() == null ? Set.of()
                        : Set.of(new ResourceID(p.getSpec().network, p.getMetadata().getNamespace())))
                // Agents update their stats often; only spec changes and applied generations matter here.
                .withOnUpdateFilter((VpnPeer n, VpnPeer o) -> !Objects.equals(n.getMetadata().getGeneration(), o.getMetadata().getGeneration())
                        || !Objects.equals(appliedGeneration(n), appliedGeneration(o)))
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
        return List.of(peerSource, new InformerEventSource<>(configMaps, context), chain);
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

    private UpdateControl<VpnNetwork> doReconcile(VpnNetwork network, Context<VpnNetwork> context) {
        VpnNetworkStatus.ChainPosition chainPosition = null;
        String ns = network.getMetadata().getNamespace();
        String name = network.getMetadata().getName();
        long generation = network.getMetadata().getGeneration() == null ? 0 : network.getMetadata().getGeneration();
        VpnNetworkStatus old = network.getStatus();
        ConditionSet conditions = new ConditionSet(old == null ? null : old.conditions, generation, clock);

        Ipv4Cidr cidr;
        try {
            cidr = Ipv4Cidr.parse(network.getSpec().cidr);
        } catch (IllegalArgumentException e) {
            // The API server validates the CIDR; this guards objects stored before validation existed.
            conditions.set(Conditions.SPEC_VALID, false, "InvalidCidr", e.getMessage())
                    .set(Conditions.READY, false, "InvalidSpec", e.getMessage());
            return patchIfChanged(network, statusWith(old, conditions, generation));
        }
        conditions.set(Conditions.SPEC_VALID, true, "Valid", "spec is valid");
        chainSources.retainOnly(context.getPrimaryCache().list().map(ResourceID::fromResource).collect(Collectors.toSet()));
        if (network.getSpec().access.chain != null) {
            try {
                chainSources.ensure(network);
            } catch (IllegalArgumentException e) {
                conditions.set(Conditions.CHAIN_SYNCED, false, "RpcConfigInvalid", e.getMessage())
                        .set(Conditions.READY, false, "ChainNotSynced", e.getMessage());
                return patchIfChanged(network, statusWith(old, conditions, generation));
            }
            VpnNetworkStatus.ChainPosition position = ChainStatus.position(chainSources, network);
            ChainStatus.conditions(chainSources, network, conditions);
            announceChainTrouble(network, old, conditions);
            if (!membership.ready(network)) {
                // Keep the last rendered peer set and addresses: a restart or a slow first sync must not flap.
                conditions.set(Conditions.READY, false, "ChainNotSynced", "waiting for the chain follower's first sync; the last rendered peer set stays in force");
                VpnNetworkStatus s = statusWith(old, conditions, generation);
                s.chain = position;
                return patchIfChanged(network, s);
            }
            chainPosition = position;
        }

        List<VpnPeer> peers = MembershipResolver.members(network, peersOf(network, context));
        Map<String, AccessDecision> decisions = membership.resolve(network, peers);

        ConfigMap stored = context.getSecondaryResource(ConfigMap.class).orElse(null);
        PeerSet previousSet = readPeerSet(stored);
        Map<String, String> previousAllocations = readAllocations(stored, peers);

        // Admitted peers need an address; others keep the one they hold (stable across revoke and re-grant)
        // until their VpnPeer is deleted or denied for good.
        List<AddressAllocator.Request> requests = new ArrayList<>();
        for (VpnPeer p : peers) {
            AccessDecision d = decisions.get(p.getMetadata().getName());
            boolean holds = previousAllocations.containsKey(p.getMetadata().getName());
            if (d.admitted() || (holds && d.phase() != VpnPeerPhase.Denied)) {
                requests.add(new AddressAllocator.Request(p.getMetadata().getName(), p.getSpec().address));
            }
        }
        List<OutsidePeer> outside = membership.outsidePeers(network, peers);
        for (OutsidePeer o : outside) {
            requests.add(new AddressAllocator.Request(o.ipamKey(), null)); // after every VpnPeer: they never displace one
        }
        AddressAllocator.Result ipam = new AddressAllocator(cidr).allocate(previousAllocations, requests);

        List<VpnPeer> admitted = peers.stream().filter(p -> decisions.get(p.getMetadata().getName()).admitted()).toList();
        PeerSet rendering = PeerSetRenderer.render(network, previousSet, admitted, outside, ipam.assigned());
        PeerSet set = rendering;
        String peersJson = PeerSetCodec.encode(set);
        String allocationsJson = PeerSetCodec.encodeAllocations(ipam.assigned());
        int bytes = peersJson.getBytes(StandardCharsets.UTF_8).length + allocationsJson.getBytes(StandardCharsets.UTF_8).length;

        boolean rendered;
        if (bytes > MAX_PEERSET_BYTES) {
            rendered = false;
            set = previousSet != null ? previousSet : set.withGeneration(0);
            conditions.set(Conditions.PEER_SET_RENDERED, false, "PeerSetTooLarge",
                    "the peer set is " + bytes + " bytes, over the " + MAX_PEERSET_BYTES
                            + "-byte limit of one object; agents keep the last generation (see docs/adr/0002)");
        } else {
            writePeerSet(network, stored, peersJson, allocationsJson, set.generation(), context);
            rendered = true;
            conditions.set(Conditions.PEER_SET_RENDERED, true, "Rendered",
                    "peer set generation " + set.generation() + " with " + set.peers().size() + " peers");
            announceMembershipChanges(network, previousSet, set);
        }
        if (rendered) {
            writePeerAddresses(peers, ipam.assigned());
        }

        List<String> unaddressed = new ArrayList<>(ipam.exhausted());
        if (ipam.exhausted().isEmpty()) {
            conditions.set(Conditions.ADDRESS_POOL_AVAILABLE, true, "AddressesAvailable",
                    ipam.assigned().size() + " of " + ipam.capacity() + " addresses in use");
        } else {
            String msg = "address pool " + cidr + " is exhausted (" + ipam.capacity() + " addresses); waiting for an address: "
                    + String.join(", ", ipam.exhausted());
            if (old == null || !wasFalse(old, Conditions.ADDRESS_POOL_AVAILABLE)) {
                events.warning(network, "AddressPoolExhausted", msg);
            }
            conditions.set(Conditions.ADDRESS_POOL_AVAILABLE, false, "AddressPoolExhausted", msg);
        }
        ipam.rejected().forEach((peer, why) -> unaddressed.add(peer + " (" + why + ")"));

        VpnNetworkStatus status = new VpnNetworkStatus();
        status.observedGeneration = generation;
        status.peers = countPhases(decisions);
        status.peers.outside = outside.isEmpty() ? null : outside.size();
        status.addresses = new VpnNetworkStatus.AddressUsage();
        status.addresses.capacity = ipam.capacity();
        status.addresses.allocated = ipam.assigned().size();
        status.peerSet = new VpnNetworkStatus.PeerSetRef();
        status.peerSet.configMap = PeerSetCodec.configMapName(name);
        status.peerSet.generation = set.generation();
        status.peerSet.peers = set.peers().size();
        status.peerSet.bytes = bytes;
        status.convergence = convergence(admitted, set.generation());
        status.chain = chainPosition;

        boolean ready = rendered && ipam.exhausted().isEmpty() && ipam.rejected().isEmpty()
                && (network.getSpec().access.chain == null || conditions.isTrue(Conditions.CHAIN_SYNCED));
        if (ready) {
            conditions.set(Conditions.READY, true, "PeerSetRendered",
                    status.peers.active + " of " + status.peers.total + " peers active; peer set generation " + set.generation());
        } else {
            conditions.set(Conditions.READY, false, !rendered ? "PeerSetNotRendered" : !unaddressed.isEmpty() ? "PeersWithoutAddress" : "ChainNotSynced",
                    !rendered ? "the peer set could not be written; see condition PeerSetRendered"
                            : !unaddressed.isEmpty() ? "admitted peers without an address: " + String.join("; ", unaddressed)
                            : "the chain source has trouble; see condition ChainSynced");
        }
        status.conditions = conditions.build();

        metrics.addresses(ns, name, ipam.assigned().size(), ipam.capacity());
        metrics.peerSet(ns, name, set.generation(), bytes, status.convergence.nodesApplied);
        for (VpnPeerPhase phase : VpnPeerPhase.values()) {
            metrics.peers(ns, name, phase.name(), decisions.values().stream().filter(d -> d.phase() == phase).count());
        }
        return patchIfChanged(network, status);
    }

    /**
     * A Warning Event when the chain source turns bad: unusable chain data (a condition alone is easy to miss),
     * or a fatal error. Once per transition, not per reconcile: a hostile endpoint must not become an Event storm.
     */
    private void announceChainTrouble(VpnNetwork network, VpnNetworkStatus old, ConditionSet conditions) {
        conditions.get(Conditions.CHAIN_DATA_VALID).filter(c -> "False".equals(c.getStatus()))
                .filter(c -> old == null || !wasFalse(old, Conditions.CHAIN_DATA_VALID))
                .ifPresent(c -> events.warning(network, c.getReason(), c.getMessage()));
        conditions.get(Conditions.CHAIN_SYNCED).filter(c -> "ChainSourceFailed".equals(c.getReason()))
                .filter(c -> old == null || old.conditions == null || old.conditions.stream()
                        .noneMatch(o -> Conditions.CHAIN_SYNCED.equals(o.getType()) && "ChainSourceFailed".equals(o.getReason())))
                .ifPresent(c -> events.warning(network, c.getReason(), c.getMessage()));
    }

    private static boolean wasFalse(VpnNetworkStatus old, String type) {
        return old.conditions != null && old.conditions.stream().anyMatch(c -> type.equals(c.getType()) && "False".equals(c.getStatus()));
    }

    private UpdateControl<VpnNetwork> patchIfChanged(VpnNetwork network, VpnNetworkStatus status) {
        if (serialization.asJson(status).equals(serialization.asJson(network.getStatus()))) {
            return UpdateControl.noUpdate();
        }
        network.setStatus(status);
        // The operator is the only writer of network status: apply without optimistic locking, so a
        // concurrent change of the spec does not turn every status write into a 409 and a retry.
        network.getMetadata().setResourceVersion(null);
        return UpdateControl.patchStatus(network);
    }

    private static VpnNetworkStatus statusWith(VpnNetworkStatus old, ConditionSet conditions, long generation) {
        VpnNetworkStatus s = new VpnNetworkStatus();
        if (old != null) {
            s.peers = old.peers;
            s.addresses = old.addresses;
            s.peerSet = old.peerSet;
            s.convergence = old.convergence;
            s.chain = old.chain;
        }
        s.observedGeneration = generation;
        s.conditions = conditions.build();
        return s;
    }

    private PeerSet readPeerSet(ConfigMap stored) {
        if (stored == null || stored.getData() == null || stored.getData().get(PeerSetCodec.PEERS_KEY) == null) {
            return null;
        }
        try {
            return PeerSetCodec.decode(stored.getData().get(PeerSetCodec.PEERS_KEY));
        } catch (IllegalArgumentException e) {
            LOG.warnf("peer set ConfigMap %s is unreadable (%s); rendering a new one", stored.getMetadata().getName(), e.getMessage());
            return null;
        }
    }

    /**
     * The IPAM record from the ConfigMap; a peer missing there (ConfigMap deleted, say) keeps the address its
     * status still shows, so a lost ConfigMap renumbers nobody.
     */
    private Map<String, String> readAllocations(ConfigMap stored, List<VpnPeer> peers) {
        Map<String, String> allocations = new LinkedHashMap<>();
        if (stored != null && stored.getData() != null && stored.getData().get(PeerSetCodec.ALLOCATIONS_KEY) != null) {
            try {
                allocations.putAll(PeerSetCodec.decodeAllocations(stored.getData().get(PeerSetCodec.ALLOCATIONS_KEY)));
            } catch (IllegalArgumentException e) {
                LOG.warnf("address allocations in %s are unreadable (%s); recovering them from peer status",
                        stored.getMetadata().getName(), e.getMessage());
            }
        }
        for (VpnPeer p : peers) {
            if (p.getStatus() != null && p.getStatus().address != null) {
                allocations.putIfAbsent(p.getMetadata().getName(), p.getStatus().address);
            }
        }
        return allocations;
    }

    private void writePeerSet(VpnNetwork network, ConfigMap stored, String peersJson, String allocationsJson, long generation,
            Context<VpnNetwork> context) {
        Map<String, String> data = Map.of(PeerSetCodec.PEERS_KEY, peersJson, PeerSetCodec.ALLOCATIONS_KEY, allocationsJson);
        if (stored != null && data.equals(stored.getData())) {
            return;
        }
        String name = network.getMetadata().getName();
        ConfigMap desired = new ConfigMapBuilder()
                .withNewMetadata()
                .withName(PeerSetCodec.configMapName(name))
                .withNamespace(network.getMetadata().getNamespace())
                .addToLabels(VpnLabels.NETWORK, name)
                .addToLabels(VpnLabels.COMPONENT, VpnLabels.COMPONENT_PEERSET)
                .addToLabels("app.kubernetes.io/managed-by", "dstack-vpn-operator")
                .addToAnnotations(VpnLabels.PEERSET_GENERATION, Long.toString(generation))
                .addNewOwnerReference()
                .withApiVersion(network.getApiVersion()).withKind(network.getKind())
                .withName(name).withUid(network.getMetadata().getUid())
                .withController(true).withBlockOwnerDeletion(true)
                .endOwnerReference()
                .endMetadata()
                .withData(data)
                .build();
        // Through JOSDK so the written ConfigMap lands in the informer cache at once: the next reconcile must
        // see our own write, or it would render again from a stale view (and bump the generation twice).
        context.resourceOperations().serverSideApply(desired);
    }

    /**
     * Applies each changed {@code status.address}, {@link #ADDRESS_WRITERS} at a time, and returns when all are
     * written (a failure fails the reconcile, which is retried). One by one, the initial load of 5,000 peers kept
     * the reconcile busy for about a minute, and every access change in that time waited for it.
     */
    private void writePeerAddresses(List<VpnPeer> peers, Map<String, String> assigned) {
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        for (VpnPeer p : peers) {
            String want = assigned.get(p.getMetadata().getName());
            String have = p.getStatus() == null ? null : p.getStatus().address;
            if (!Objects.equals(want, have)) {
                Map<String, Object> owned = want == null ? Map.of() : Map.of("address", want);
                writes.add(CompletableFuture.runAsync(() -> statusApplier.apply(p, VpnLabels.FIELD_MANAGER_IPAM, owned), addressWriters));
            }
        }
        try {
            CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    @PreDestroy
    void shutdown() {
        addressWriters.shutdownNow();
    }

    private void announceMembershipChanges(VpnNetwork network, PeerSet before, PeerSet after) {
        if (before != null && before.generation() == after.generation()) {
            return;
        }
        Map<String, String> was = before == null ? Map.of()
                : before.peers().stream().collect(Collectors.toMap(PeerSet.Peer::nodeId, PeerSet.Peer::publicKey));
        Map<String, String> now = after.peers().stream().collect(Collectors.toMap(PeerSet.Peer::nodeId, PeerSet.Peer::publicKey));
        Set<String> added = new HashSet<>(now.keySet());
        added.removeAll(was.keySet());
        Set<String> removed = new HashSet<>(was.keySet());
        removed.removeAll(now.keySet());
        String ns = network.getMetadata().getNamespace();
        String name = network.getMetadata().getName();
        added.forEach(nodeId -> metrics.accessChange(ns, name, "added"));
        removed.forEach(nodeId -> metrics.accessChange(ns, name, "removed"));
        announce(network, "PeerAdded", "joined", added, after.generation());
        announce(network, "PeerRemoved", "left", removed, after.generation());
        now.forEach((nodeId, key) -> {
            if (was.containsKey(nodeId) && !was.get(nodeId).equals(key)) {
                events.normal(network, "PeerKeyRotated", "node " + nodeId + " now uses key " + key);
            }
        });
    }

    /**
     * One Event per node for everyday changes; a mass change (the first render of a large network, a bulk grant)
     * gets one Event naming the first few, not thousands of API writes inside this reconcile.
     */
    private void announce(VpnNetwork network, String reason, String verb, Set<String> nodeIds, long generation) {
        if (nodeIds.size() > MAX_EVENTS_PER_KIND) {
            List<String> sorted = nodeIds.stream().sorted().toList();
            events.normal(network, reason, nodeIds.size() + " nodes " + verb + " (" + String.join(", ", sorted.subList(0, MAX_EVENTS_PER_KIND))
                    + ", and " + (sorted.size() - MAX_EVENTS_PER_KIND) + " more); peer set generation " + generation);
        } else {
            nodeIds.forEach(nodeId -> events.normal(network, reason, "node " + nodeId + " " + verb + "; peer set generation " + generation));
        }
    }

    private static VpnNetworkStatus.PeerCounts countPhases(Map<String, AccessDecision> decisions) {
        VpnNetworkStatus.PeerCounts c = new VpnNetworkStatus.PeerCounts();
        Map<VpnPeerPhase, Integer> by = new HashMap<>();
        decisions.values().forEach(d -> by.merge(d.phase(), 1, Integer::sum));
        c.total = decisions.size();
        c.active = by.getOrDefault(VpnPeerPhase.Active, 0);
        c.pending = by.getOrDefault(VpnPeerPhase.Pending, 0);
        c.suspended = by.getOrDefault(VpnPeerPhase.Suspended, 0);
        c.revoked = by.getOrDefault(VpnPeerPhase.Revoked, 0);
        c.denied = by.getOrDefault(VpnPeerPhase.Denied, 0);
        return c;
    }

    private static VpnNetworkStatus.Convergence convergence(List<VpnPeer> admitted, long generation) {
        VpnNetworkStatus.Convergence c = new VpnNetworkStatus.Convergence();
        c.generation = generation;
        c.nodesTotal = admitted.size();
        c.nodesApplied = (int) admitted.stream().filter(p -> {
            Long applied = appliedGeneration(p);
            return applied != null && applied >= generation;
        }).count();
        return c;
    }

    static Long appliedGeneration(VpnPeer p) {
        return p.getStatus() == null || p.getStatus().applied == null ? null : p.getStatus().applied.generation;
    }
}
