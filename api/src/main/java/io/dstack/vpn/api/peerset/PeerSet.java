package io.dstack.vpn.api.peerset;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * The rendered membership of one network, as agents apply it: one document for all nodes (each agent
 * picks its own view by node id and topology), so a membership change writes one object, not one per node.
 * Stored in a ConfigMap under {@link PeerSetCodec#PEERS_KEY}.
 *
 * @param generation increases by one whenever anything an agent applies changes
 * @param proxyPort the TCP port of every node's proxy (UDP-over-TCP) when the network enables it, else null
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"network", "generation", "cidr", "listenPort", "mtu", "topology", "hubs", "proxyPort", "peers"})
public record PeerSet(String network, long generation, String cidr, int listenPort, int mtu, String topology,
        List<String> hubs, Integer proxyPort, List<Peer> peers) {

    /** One admitted member. Sorted by nodeId so equal sets render to equal bytes. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonPropertyOrder({"nodeId", "publicKey", "address", "endpoint", "transport", "keepalive"})
    public record Peer(String nodeId, String publicKey, String address, String endpoint, String transport,
            Integer keepalive) {
    }

    /** TCP-transport peers reach the others through the proxy; see docs/adr/0008-proxy.md. */
    public boolean proxyEnabled() {
        return proxyPort != null;
    }

    /** Same content, ignoring the generation: decides whether a new generation is needed. */
    public boolean sameMembershipAs(PeerSet other) {
        return other != null && withGeneration(0).equals(other.withGeneration(0));
    }

    public PeerSet withGeneration(long g) {
        return new PeerSet(network, g, cidr, listenPort, mtu, topology, hubs, proxyPort, peers);
    }
}
