package io.dstack.vpn.operator.access;

import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;

/**
 * Decides whether one peer of a network is admitted. Implementations answer from memory (the chain source
 * from its follower's registry), never by a remote call, so both reconcilers can ask as often as they like
 * and always get the same answer for the same state.
 */
public interface AccessPolicy {

    AccessDecision decide(VpnNetwork network, VpnPeer peer);

    /**
     * False while the source cannot decide yet (the chain follower's first sync): reconcilers then keep what
     * they rendered and reported before, so an operator restart neither grants nor drops anyone.
     */
    default boolean ready(VpnNetwork network) {
        return true;
    }

    /** Members the source admits that have no VpnPeer (e.g. DStack TEE instances holding a token); none by default. */
    default java.util.List<OutsidePeer> outsidePeers(VpnNetwork network, java.util.Set<String> knownNodeIds) {
        return java.util.List.of();
    }

    /** A short name for status messages and metrics labels, e.g. "devAllowList" or "chain". */
    String sourceName();
}
