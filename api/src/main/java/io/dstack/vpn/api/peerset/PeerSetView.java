package io.dstack.vpn.api.peerset;

import java.util.ArrayList;
import java.util.List;


/**
 * This node's view of the network's one rendered peer set. Mesh: every other member, each routing its own
 * /32. Hub-and-spoke: a spoke peers with the hubs only, and the first hub carries the whole overlay range (a
 * WireGuard allowed IP belongs to one peer); a hub peers with everyone.
 */
public final class PeerSetView {

    public static List<DesiredPeer> desiredFor(PeerSet set, String selfNodeId) {
        boolean hubAndSpoke = "HubAndSpoke".equals(set.topology()) && set.hubs() != null && !set.hubs().isEmpty();
        boolean selfIsHub = hubAndSpoke && set.hubs().contains(selfNodeId);
        String firstHub = hubAndSpoke ? set.hubs().get(0) : null;
        List<DesiredPeer> out = new ArrayList<>();
        for (PeerSet.Peer p : set.peers()) {
            if (p.nodeId().equals(selfNodeId)) {
                continue;
            }
            if (hubAndSpoke && !selfIsHub && !set.hubs().contains(p.nodeId())) {
                continue;
            }
            List<String> allowed = hubAndSpoke && !selfIsHub && p.nodeId().equals(firstHub)
                    ? List.of(set.cidr())
                    : List.of(p.address() + "/32");
            out.add(new DesiredPeer(p.nodeId(), p.publicKey(), p.endpoint(), allowed, p.keepalive() == null ? 0 : p.keepalive()));
        }
        return out;
    }

    private PeerSetView() {
    }
}
