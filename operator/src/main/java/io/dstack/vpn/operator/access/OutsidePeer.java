package io.dstack.vpn.operator.access;

/**
 * A member admitted by the access source without a VpnPeer object: it has no endpoint (it dials in) and is
 * addressed under the IPAM key {@code token/<nodeId>}, which no Kubernetes name can take.
 */
public record OutsidePeer(String nodeId, String publicKey, String tokenId) {
    public String ipamKey() {
        return "token/" + nodeId;
    }
}
