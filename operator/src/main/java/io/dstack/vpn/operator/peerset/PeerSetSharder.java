package io.dstack.vpn.operator.peerset;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.peerset.PeerSetIndex;
import io.dstack.vpn.api.peerset.PeerSetShard;
import io.dstack.vpn.api.peerset.PeerSetShards;
import io.dstack.vpn.api.peerset.StoredPeerSet;

/**
 * Lays a rendered peer set out in shards (ADR 0002). Pure. The shard count is a power of two that only grows: it
 * starts at the stored layout's and doubles while a shard is over {@link Limits#shardTargetBytes}, so a network
 * keeps its layout (and a one-peer change rewrites one shard) until it grows out of it. A shard keeps its stored
 * generation while its peers are unchanged; a changed shard takes the set's new generation.
 */
public final class PeerSetSharder {

    /**
     * @param shardTargetBytes a shard larger than this doubles the shard count: small shards keep one change cheap
     *                         to write and to watch
     * @param maxObjectBytes   no object is written above this (the 1 MiB object limit, with room for metadata)
     * @param maxShards        the shard count never passes this
     */
    public record Limits(int shardTargetBytes, int maxObjectBytes, int maxShards) {
        public static final Limits DEFAULT = new Limits(128 * 1024, 900 * 1024, PeerSetShards.MAX_SHARDS);
    }

    /**
     * @param set        the rendered set (its generation decided against the stored one)
     * @param holders    IPAM key (peer name, or an outside peer's key) to the node id it belongs to: an address record
     *                   lives in its node's shard
     * @param assigned   IPAM key to address
     * @param stored     the stored set, null if none
     */
    public static PeerSetLayout layout(PeerSet set, Map<String, String> holders, Map<String, String> assigned, StoredPeerSet stored,
            Limits limits) {
        int count = stored == null ? 1 : Math.min(stored.shardCount(), limits.maxShards());
        while (true) {
            PeerSetLayout layout = layout(set, holders, assigned, stored, count);
            boolean tooBig = layout.shards().stream().anyMatch(s -> s.bytes() > limits.shardTargetBytes());
            if (!tooBig || count * 2 > limits.maxShards()) {
                return layout;
            }
            count *= 2;
        }
    }

    private static PeerSetLayout layout(PeerSet set, Map<String, String> holders, Map<String, String> assigned, StoredPeerSet stored,
            int count) {
        List<List<PeerSet.Peer>> peers = PeerSetShards.split(set.peers(), count);
        List<Map<String, String>> allocations = new ArrayList<>(count);
        for (int k = 0; k < count; k++) {
            allocations.add(new TreeMap<>());
        }
        // A record whose holder is unknown cannot happen (only requested keys get addresses); shard 0 keeps it anyway.
        assigned.forEach((key, address) -> {
            String nodeId = holders.get(key);
            allocations.get(nodeId == null ? 0 : PeerSetShards.shardOf(nodeId, count)).put(key, address);
        });
        List<PeerSetLayout.Shard> shards = new ArrayList<>(count);
        List<PeerSetIndex.ShardRef> refs = new ArrayList<>(count);
        for (int k = 0; k < count; k++) {
            String name = PeerSetShards.shardName(set.network(), k, count);
            PeerSetShard before = stored == null ? null : stored.shards().get(name);
            long generation = before != null && before.peers().equals(peers.get(k)) ? before.generation() : set.generation();
            PeerSetShard shard = new PeerSetShard(set.network(), k, count, generation, List.copyOf(peers.get(k)));
            shards.add(PeerSetLayout.Shard.of(name, shard, PeerSetCodec.encodeShard(shard), PeerSetCodec.encodeAllocations(allocations.get(k))));
            refs.add(new PeerSetIndex.ShardRef(name, generation, shard.peers().size()));
        }
        PeerSetIndex index = PeerSetIndex.of(set, refs);
        return new PeerSetLayout(index, PeerSetCodec.encodeIndex(index), shards);
    }

    private PeerSetSharder() {
    }
}
