package io.dstack.vpn.api.peerset;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * One shard of a network's peer set (ADR 0002), stored under {@link PeerSetCodec#PEERS_KEY} in
 * {@code <network>-peerset-<shard>-of-<of>}: the peers whose node id hashes to {@code shard}
 * ({@link PeerSetShards#shardOf}), sorted by node id.
 *
 * @param generation the whole set's generation at which these peers last changed
 */
@JsonPropertyOrder({"network", "shard", "of", "generation", "peers"})
public record PeerSetShard(String network, int shard, int of, long generation, List<PeerSet.Peer> peers) {
}
