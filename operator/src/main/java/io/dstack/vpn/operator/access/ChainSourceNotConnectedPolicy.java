package io.dstack.vpn.operator.access;

import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;

/**
 * Stands in for the chain source until the chain follower is wired in: it admits nobody (fail closed) and
 * says so, so a network configured for the chain never grants access by accident.
 */
public final class ChainSourceNotConnectedPolicy implements AccessPolicy {

    @Override
    public AccessDecision decide(VpnNetwork network, VpnPeer peer) {
        return AccessDecision.of(VpnPeerPhase.Pending, "ChainSourceNotConnected",
                "this operator build has no chain follower yet; no token can admit node " + peer.getSpec().nodeId);
    }

    @Override
    public String sourceName() {
        return "chain";
    }
}
