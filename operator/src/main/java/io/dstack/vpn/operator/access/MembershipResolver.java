package io.dstack.vpn.operator.access;

import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;

/**
 * The admission decision for every peer of one network. Both reconcilers call it with the same inputs and
 * so agree: the peer reconciler reports the decision, the network reconciler renders the admitted peers.
 * Beyond the access source it enforces one rule the source cannot see: a node id is admitted at most once
 * per network (the oldest VpnPeer wins).
 */
@ApplicationScoped
public class MembershipResolver {

    /** Oldest first; the name breaks ties so the order is total and stable. */
    public static final Comparator<VpnPeer> OLDEST_FIRST = Comparator
            .comparing((VpnPeer p) -> String.valueOf(p.getMetadata().getCreationTimestamp()))
            .thenComparing(p -> p.getMetadata().getName());

    @Inject
    AccessPolicies policies;

    public MembershipResolver() {
    }

    MembershipResolver(AccessPolicies policies) {
        this.policies = policies;
    }

    /** The peers that take part in membership: those of this network that are not being deleted, oldest first. */
    public static List<VpnPeer> members(VpnNetwork network, Collection<VpnPeer> peers) {
        String name = network.getMetadata().getName();
        return peers.stream()
                .filter(p -> p.getSpec() != null && name.equals(p.getSpec().network))
                .filter(p -> p.getMetadata().getDeletionTimestamp() == null)
                .sorted(OLDEST_FIRST)
                .toList();
    }

    /** Whether the network's access source can decide now (see {@link AccessPolicy#ready}). */
    public boolean ready(VpnNetwork network) {
        return policies.forNetwork(network).ready(network);
    }

    /** Members without a VpnPeer that the source admits (node ids of existing peers excluded). */
    public List<OutsidePeer> outsidePeers(VpnNetwork network, Collection<VpnPeer> members) {
        java.util.Set<String> known = new java.util.HashSet<>();
        members.forEach(p -> known.add(p.getSpec().nodeId));
        return policies.forNetwork(network).outsidePeers(network, known);
    }

    /** Peer name to decision for every {@link #members member}, in OLDEST_FIRST order. */
    public Map<String, AccessDecision> resolve(VpnNetwork network, Collection<VpnPeer> peers) {
        AccessPolicy policy = policies.forNetwork(network);
        List<VpnPeer> ordered = members(network, peers);
        Map<String, AccessDecision> decisions = new LinkedHashMap<>();
        Map<String, String> nodeIdHolder = new HashMap<>();
        for (VpnPeer peer : ordered) {
            AccessDecision d = policy.decide(network, peer);
            String name = peer.getMetadata().getName();
            if (d.admitted()) {
                String holder = nodeIdHolder.putIfAbsent(peer.getSpec().nodeId, name);
                if (holder != null) {
                    d = new AccessDecision(VpnPeerPhase.Denied, "DuplicateNodeId",
                            "node id " + peer.getSpec().nodeId + " is already used by VpnPeer " + holder, d.token());
                }
            }
            decisions.put(name, d);
        }
        return decisions;
    }
}
