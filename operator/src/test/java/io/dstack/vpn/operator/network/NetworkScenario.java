package io.dstack.vpn.operator.network;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetIndex;
import io.dstack.vpn.api.peerset.StoredPeerSet;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.api.v1alpha1.VpnPeerStatus;
import io.dstack.vpn.operator.Fixtures;
import io.dstack.vpn.operator.access.AccessDecision;
import io.dstack.vpn.operator.access.OutsidePeer;
import io.dstack.vpn.operator.ipam.Ipv4Cidr;
import io.dstack.vpn.operator.peerset.PeerSetSharder;

/**
 * A network as the reconciler observes it, told as a short history: add peers, {@link #stored snapshot} what
 * the ConfigMap would hold, then change things. Peer {@code x} has node id {@code node-x}; peers are members in
 * the order they are added (oldest first).
 */
final class NetworkScenario {
    final VpnNetwork network = Fixtures.devNetwork();
    private final List<VpnPeer> members = new ArrayList<>();
    private final Map<String, AccessDecision> decisions = new LinkedHashMap<>();
    private final List<OutsidePeer> outside = new ArrayList<>();
    private StoredPeerSet storedSet;
    private Map<String, String> storedAllocations = new LinkedHashMap<>();
    private PeerSetSharder.Limits limits = PeerSetSharder.Limits.DEFAULT;

    static NetworkScenario network(String cidr) {
        NetworkScenario s = new NetworkScenario();
        s.network.getSpec().cidr = cidr;
        return s;
    }

    /** @param address the peer's {@code status.address}, null for none */
    NetworkScenario peer(String name, String key, VpnPeerPhase phase, String address) {
        VpnPeer p = Fixtures.peer(name, "node-" + name, key, Instant.parse("2026-01-01T00:00:00Z").plusSeconds(members.size()).toString());
        p.setStatus(new VpnPeerStatus());
        p.getStatus().address = address;
        members.add(p);
        decisions.put(name, AccessDecision.of(phase, phase.name(), "test"));
        return this;
    }

    /** {@code count} new Active peers p0000, p0001, ... without an address. */
    NetworkScenario manyPeers(int count) {
        for (int i = 0; i < count; i++) {
            peer(String.format("p%04d", i), Fixtures.KEY_A, VpnPeerPhase.Active, null);
        }
        return this;
    }

    NetworkScenario phase(String name, VpnPeerPhase phase) {
        decisions.put(name, AccessDecision.of(phase, phase.name(), "test"));
        return this;
    }

    NetworkScenario key(String name, String key) {
        member(name).getSpec().publicKey = key;
        return this;
    }

    /** The peer asks for a static address ({@code spec.address}). */
    NetworkScenario requests(String name, String address) {
        member(name).getSpec().address = address;
        return this;
    }

    /** The peer's agent reports having applied this peer-set generation. */
    NetworkScenario applied(String name, long generation) {
        member(name).getStatus().applied = new VpnPeerStatus.AppliedState();
        member(name).getStatus().applied.generation = generation;
        return this;
    }

    NetworkScenario removed(String name) {
        members.remove(member(name));
        decisions.remove(name);
        return this;
    }

    NetworkScenario outside(String nodeId, String key) {
        outside.add(new OutsidePeer(nodeId, key, "1"));
        return this;
    }

    /**
     * The ConfigMap as the last pass left it: the Active peers with an address rendered at this generation, and
     * every address a peer shows in the allocation record.
     */
    NetworkScenario stored(long generation) {
        List<PeerSet.Peer> peers = members.stream()
                .filter(p -> decisions.get(p.getMetadata().getName()).admitted() && p.getStatus().address != null)
                .map(p -> new PeerSet.Peer(p.getSpec().nodeId, p.getSpec().publicKey, p.getStatus().address, null, "UDP", null))
                .sorted(Comparator.comparing(PeerSet.Peer::nodeId))
                .toList();
        PeerSet set = new PeerSet("net", generation, network.getSpec().cidr, 51820, 1420, "Mesh", null, null, peers);
        storedAllocations = new LinkedHashMap<>();
        members.stream().filter(p -> p.getStatus().address != null)
                .forEach(p -> storedAllocations.put(p.getMetadata().getName(), p.getStatus().address));
        storedSet = new StoredPeerSet(PeerSetIndex.of(set, List.of()), set, Map.of(), storedAllocations);
        return this;
    }

    /** Peer-set objects held to these limits (small ones make a test's few peers need shards). */
    NetworkScenario limits(PeerSetSharder.Limits l) {
        limits = l;
        return this;
    }

    NetworkPlanner.Observed observed() {
        return new NetworkPlanner.Observed(network, Ipv4Cidr.parse(network.getSpec().cidr), List.copyOf(members),
                new LinkedHashMap<>(decisions), List.copyOf(outside), storedSet, new LinkedHashMap<>(storedAllocations), limits);
    }

    NetworkPlan plan() {
        return NetworkPlanner.plan(observed());
    }

    private VpnPeer member(String name) {
        return members.stream().filter(p -> p.getMetadata().getName().equals(name)).findFirst().orElseThrow();
    }
}
