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
        List<DesiredPeer> out = new ArrayList<>();
        if (set.peers().stream().noneMatch(p -> p.nodeId().equals(selfNodeId))) {
            return out;
        }
        for (PeerSet.Peer p : set.peers()) {
            DesiredPeer d = desiredPeer(set, selfNodeId, p);
            if (d != null) {
                out.add(d);
            }
        }
        return out;
    }

    /**
     * How this node, a member, peers with {@code p}; null when it does not. Reads only the set's header (topology,
     * hubs, cidr), not its peers, so an agent can re-derive one changed peer without walking the whole set.
     */
    public static DesiredPeer desiredPeer(PeerSet header, String selfNodeId, PeerSet.Peer p) {
        if (p.nodeId().equals(selfNodeId)) {
            return null;
        }
        boolean hubAndSpoke = "HubAndSpoke".equals(header.topology()) && header.hubs() != null && !header.hubs().isEmpty();
        boolean selfIsHub = hubAndSpoke && header.hubs().contains(selfNodeId);
        if (hubAndSpoke && !selfIsHub && !header.hubs().contains(p.nodeId())) {
            return null;
        }
        List<String> allowed = hubAndSpoke && !selfIsHub && p.nodeId().equals(header.hubs().get(0))
                ? List.of(header.cidr())
                : List.of(p.address() + "/32");
        return new DesiredPeer(p.nodeId(), p.publicKey(), p.endpoint(), allowed, p.keepalive() == null ? 0 : p.keepalive());
    }

    private PeerSetView() {
    }
}
