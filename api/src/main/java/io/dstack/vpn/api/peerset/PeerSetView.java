package io.dstack.vpn.api.peerset;

import java.util.ArrayList;
import java.util.List;


/**
 * This node's view of the network's one rendered peer set. Mesh: every other member, each routing its own
 * /32. Hub-and-spoke: a spoke peers with the hubs only, and the first hub carries the whole overlay range (a
 * WireGuard allowed IP belongs to one peer); a hub peers with everyone. A node that is not a member (not yet
 * admitted, or revoked) peers with nobody: the others dropped it anyway, and when it is admitted again it adds
 * them afresh, so it starts new sessions at once instead of talking into sessions the others threw away.
 */
public final class PeerSetView {

    /**
     * Keepalive for a peer reached through a udp2tcp tunnel that asks for none: a tunnel needs traffic to come up
     * and a NAT to stay open (ADR 0008). The agent and the CLI's wg-quick config both use it.
     */
    public static final int TUNNEL_KEEPALIVE_SECONDS = 25;

    public static List<DesiredPeer> desiredFor(PeerSet set, String selfNodeId) {
        boolean hubAndSpoke = "HubAndSpoke".equals(set.topology()) && set.hubs() != null && !set.hubs().isEmpty();
        boolean selfIsHub = hubAndSpoke && set.hubs().contains(selfNodeId);
        String firstHub = hubAndSpoke ? set.hubs().get(0) : null;
        List<DesiredPeer> out = new ArrayList<>();
        if (set.peers().stream().noneMatch(p -> p.nodeId().equals(selfNodeId))) {
            return out;
        }
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
