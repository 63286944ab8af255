package io.dstack.vpn.api.peerset;

import java.util.List;

/** A peer as this node should configure it. allowedIps sorted, keepalive 0 = off. */
public record DesiredPeer(String nodeId, String publicKey, String endpoint, List<String> allowedIps, int keepalive) {
}
