package io.dstack.vpn.operator.network;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.operator.ipam.AddressAllocator;
import io.dstack.vpn.operator.ipam.Ipv4Cidr;
import io.dstack.vpn.operator.peerset.PeerSetLayout;

/**
 * What one pass decided for a network, before anything is written. {@link NetworkPlanner} builds it, the
 * reconciler applies it and {@link NetworkStatusAggregator} describes it in the status.
 *
 * @param cidr            the pool the addresses come from
 * @param addresses       the IPAM result: assigned, exhausted, rejected, capacity
 * @param peerSet         the peer set in force after this pass: the rendered one if it fits, else the stored one
 *                        (or the rendered one at generation 0 when none is stored)
 * @param layout          the rendered set and the IPAM record laid out in the index and its shards, encoded
 * @param fits            whether every object is within the per-object limit; if not, nothing is written and agents
 *                        keep the last generation
 * @param addressWrites   peer name to the {@code status.address} it must get (null: none), for the peers whose status
 *                        differs, in member order; empty when the set does not fit
 * @param changes         the nodes that joined, left or changed key, when a new generation is written
 * @param peers           members per access phase
 * @param convergence     how many admitted peers report having applied {@code peerSet}'s generation
 */
record NetworkPlan(Ipv4Cidr cidr, AddressAllocator.Result addresses, PeerSet peerSet, PeerSetLayout layout, boolean fits, Map<String, String> addressWrites, MembershipChange changes,
        PeerCounts peers, Convergence convergence) {

    NetworkPlan {
        addresses = new AddressAllocator.Result(Collections.unmodifiableMap(addresses.assigned()), List.copyOf(addresses.exhausted()),
                Collections.unmodifiableMap(addresses.rejected()), addresses.capacity());
        addressWrites = Collections.unmodifiableMap(addressWrites); // values may be null: no Map.copyOf
    }

    /** Every peer-set object's documents together, in UTF-8. */
    int bytes() {
        return layout.bytes();
    }

    /** Nodes of the written set against the stored one; {@link #NONE} when the generation did not move. */
    record MembershipChange(Set<String> added, Set<String> removed, Map<String, String> rotatedKeys) {
        static final MembershipChange NONE = new MembershipChange(Set.of(), Set.of(), Map.of());

        MembershipChange {
            added = Collections.unmodifiableSet(added);
            removed = Collections.unmodifiableSet(removed);
            rotatedKeys = Collections.unmodifiableMap(rotatedKeys);
        }
    }

    /**
     * @param total   members (VpnPeers of the network not being deleted)
     * @param byPhase members per phase, every phase present
     * @param outside members admitted without a VpnPeer
     */
    record PeerCounts(int total, Map<VpnPeerPhase, Integer> byPhase, int outside) {
        PeerCounts {
            byPhase = Collections.unmodifiableMap(byPhase);
        }

        int of(VpnPeerPhase phase) {
            return byPhase.get(phase);
        }
    }

    record Convergence(long generation, int nodesApplied, int nodesTotal) {
    }
}
