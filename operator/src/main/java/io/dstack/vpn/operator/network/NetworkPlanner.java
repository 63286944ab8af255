package io.dstack.vpn.operator.network;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.StoredPeerSet;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.operator.access.AccessDecision;
import io.dstack.vpn.operator.access.OutsidePeer;
import io.dstack.vpn.operator.ipam.AddressAllocator;
import io.dstack.vpn.operator.ipam.Ipv4Cidr;
import io.dstack.vpn.operator.peerset.PeerSetLayout;
import io.dstack.vpn.operator.peerset.PeerSetRenderer;
import io.dstack.vpn.operator.peerset.PeerSetSharder;

/**
 * Decides a network's addresses, peer set and the writes they need from what the reconciler observed, after
 * Kilo's {@code NewTopology}: compute first, then apply only the difference. Pure (no client, no clock), so
 * every rule here is a table test.
 */
final class NetworkPlanner {

    /**
     * @param members            the network's VpnPeers not being deleted, oldest first (who comes first keeps an
     *                           address when the pool runs out)
     * @param decisions          peer name to access decision, one per member
     * @param outside            members admitted without a VpnPeer
     * @param stored             the peer-set objects as stored, null if none or unreadable
     * @param storedAllocations  peer name (or outside IPAM key) to address, as recorded
     * @param limits             shard sizes and the per-object limit
     */
    record Observed(VpnNetwork network, Ipv4Cidr cidr, List<VpnPeer> members, Map<String, AccessDecision> decisions,
            List<OutsidePeer> outside, StoredPeerSet stored, Map<String, String> storedAllocations, PeerSetSharder.Limits limits) {
    }

    static NetworkPlan plan(Observed in) {
        AddressAllocator.Result ipam = new AddressAllocator(in.cidr()).allocate(in.storedAllocations(), addressRequests(in));
        List<VpnPeer> admitted = in.members().stream().filter(p -> decision(in, p).admitted()).toList();
        PeerSet storedSet = in.stored() == null ? null : in.stored().whole();
        PeerSet rendered = PeerSetRenderer.render(in.network(), storedSet, admitted, in.outside(), ipam.assigned());
        PeerSetLayout layout = PeerSetSharder.layout(rendered, holders(in), ipam.assigned(), in.stored(), in.limits());
        boolean fits = layout.largestObjectBytes() <= in.limits().maxObjectBytes();

        PeerSet inForce = fits ? rendered : storedSet != null ? storedSet : rendered.withGeneration(0);
        return new NetworkPlan(in.cidr(), ipam, inForce, layout, fits,
                fits ? addressWrites(in.members(), ipam.assigned()) : Map.of(),
                fits ? membershipChange(storedSet, rendered) : NetworkPlan.MembershipChange.NONE,
                peerCounts(in), convergence(admitted, inForce.generation()));
    }

    /** Which node each IPAM key belongs to: its address record lives in that node's shard. */
    private static Map<String, String> holders(Observed in) {
        Map<String, String> holders = new java.util.HashMap<>();
        in.members().forEach(p -> holders.put(p.getMetadata().getName(), p.getSpec().nodeId));
        in.outside().forEach(o -> holders.put(o.ipamKey(), o.nodeId()));
        return holders;
    }

    /**
     * Admitted peers need an address; the others keep the one they hold (stable across revoke and re-grant) until
     * their VpnPeer is deleted or denied for good. Outside peers come after every VpnPeer: they never displace one.
     */
    private static List<AddressAllocator.Request> addressRequests(Observed in) {
        List<AddressAllocator.Request> requests = new ArrayList<>();
        for (VpnPeer p : in.members()) {
            AccessDecision d = decision(in, p);
            boolean holds = in.storedAllocations().containsKey(p.getMetadata().getName());
            if (d.admitted() || (holds && d.phase() != VpnPeerPhase.Denied)) {
                requests.add(new AddressAllocator.Request(p.getMetadata().getName(), p.getSpec().address));
            }
        }
        for (OutsidePeer o : in.outside()) {
            requests.add(new AddressAllocator.Request(o.ipamKey(), null));
        }
        return requests;
    }

    /** Only the peers whose {@code status.address} differs from their assignment: a steady network writes nothing. */
    private static Map<String, String> addressWrites(List<VpnPeer> members, Map<String, String> assigned) {
        Map<String, String> writes = new LinkedHashMap<>();
        for (VpnPeer p : members) {
            String want = assigned.get(p.getMetadata().getName());
            String have = p.getStatus() == null ? null : p.getStatus().address;
            if (!Objects.equals(want, have)) {
                writes.put(p.getMetadata().getName(), want);
            }
        }
        return writes;
    }

    private static NetworkPlan.MembershipChange membershipChange(PeerSet before, PeerSet after) {
        if (before != null && before.generation() == after.generation()) {
            return NetworkPlan.MembershipChange.NONE;
        }
        Map<String, String> was = before == null ? Map.of() : keysByNode(before);
        Map<String, String> now = keysByNode(after);
        Set<String> added = new HashSet<>(now.keySet());
        added.removeAll(was.keySet());
        Set<String> removed = new HashSet<>(was.keySet());
        removed.removeAll(now.keySet());
        Map<String, String> rotated = new LinkedHashMap<>();
        now.forEach((nodeId, key) -> {
            if (was.containsKey(nodeId) && !was.get(nodeId).equals(key)) {
                rotated.put(nodeId, key);
            }
        });
        return new NetworkPlan.MembershipChange(added, removed, rotated);
    }

    /** A stored set edited by hand may name a node twice: the last entry wins rather than failing every pass. */
    private static Map<String, String> keysByNode(PeerSet set) {
        return set.peers().stream().collect(Collectors.toMap(PeerSet.Peer::nodeId, PeerSet.Peer::publicKey, (first, last) -> last));
    }

    private static NetworkPlan.PeerCounts peerCounts(Observed in) {
        Map<VpnPeerPhase, Integer> byPhase = new EnumMap<>(VpnPeerPhase.class);
        for (VpnPeerPhase phase : VpnPeerPhase.values()) {
            byPhase.put(phase, (int) in.decisions().values().stream().filter(d -> d.phase() == phase).count());
        }
        return new NetworkPlan.PeerCounts(in.decisions().size(), byPhase, in.outside().size());
    }

    private static NetworkPlan.Convergence convergence(List<VpnPeer> admitted, long generation) {
        int applied = (int) admitted.stream().filter(p -> {
            Long g = appliedGeneration(p);
            return g != null && g >= generation;
        }).count();
        return new NetworkPlan.Convergence(generation, applied, admitted.size());
    }

    static Long appliedGeneration(VpnPeer p) {
        return p.getStatus() == null || p.getStatus().applied == null ? null : p.getStatus().applied.generation;
    }

    private static AccessDecision decision(Observed in, VpnPeer p) {
        return in.decisions().get(p.getMetadata().getName());
    }

    private NetworkPlanner() {
    }
}
