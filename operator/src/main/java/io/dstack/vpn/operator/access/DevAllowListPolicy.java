package io.dstack.vpn.operator.access;

import io.dstack.vpn.api.v1alpha1.DevAllowList;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;

/**
 * DEV/TEST ONLY: admits the node ids listed in the VpnNetwork spec with exactly the listed key. Whoever can
 * edit the VpnNetwork can grant access, so production networks use the chain source.
 */
public final class DevAllowListPolicy implements AccessPolicy {

    @Override
    public AccessDecision decide(VpnNetwork network, VpnPeer peer) {
        DevAllowList list = network.getSpec().access.devAllowList;
        String nodeId = peer.getSpec().nodeId;
        var entry = list.nodes == null ? null
                : list.nodes.stream().filter(n -> nodeId.equals(n.nodeId)).findFirst().orElse(null);
        if (entry == null) {
            return AccessDecision.of(VpnPeerPhase.Pending, "NotInAllowList",
                    "node " + nodeId + " is not in the network's devAllowList");
        }
        if (!entry.publicKey.equals(peer.getSpec().publicKey)) {
            // Pending, not Denied: during a key rotation the list and the peer disagree for a moment, and the
            // peer must keep its address until they agree again.
            return AccessDecision.of(VpnPeerPhase.Pending, "KeyMismatch",
                    "devAllowList binds node " + nodeId + " to key " + entry.publicKey + ", not to " + peer.getSpec().publicKey);
        }
        return AccessDecision.of(VpnPeerPhase.Active, "Admitted", "node " + nodeId + " is in the devAllowList (dev/test source)");
    }

    @Override
    public String sourceName() {
        return "devAllowList";
    }
}
