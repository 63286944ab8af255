package io.dstack.vpn.api.peerset;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * The network-wide part of a sharded peer set (ADR 0002), stored under {@link PeerSetCodec#INDEX_KEY} in
 * {@code <network>-peerset}: everything an agent applies except the peers, and which shards hold those at which
 * generation. An agent applies a set only when it holds every listed shard at its listed generation or newer.
 *
 * @param generation the whole set's generation: increases by one whenever anything an agent applies changes
 * @param shards     the current layout's shards, by shard number
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonPropertyOrder({"network", "generation", "cidr", "listenPort", "mtu", "topology", "hubs", "proxyPort", "shards"})
public record PeerSetIndex(String network, long generation, String cidr, int listenPort, int mtu, String topology,
        List<String> hubs, Integer proxyPort, List<ShardRef> shards) {

    /**
     * @param name       the shard's ConfigMap
     * @param generation the whole set's generation at which this shard's peers last changed
     * @param peers      how many peers it holds
     */
    @JsonPropertyOrder({"name", "generation", "peers"})
    public record ShardRef(String name, long generation, int peers) {
    }

    /** The index of {@code set} laid out in {@code shards}. */
    public static PeerSetIndex of(PeerSet set, List<ShardRef> shards) {
        return new PeerSetIndex(set.network(), set.generation(), set.cidr(), set.listenPort(), set.mtu(), set.topology(),
                set.hubs(), set.proxyPort(), List.copyOf(shards));
    }

    /** The whole set with these peers (sorted by the caller). */
    public PeerSet withPeers(List<PeerSet.Peer> peers) {
        return new PeerSet(network, generation, cidr, listenPort, mtu, topology, hubs, proxyPort, peers);
    }
}
