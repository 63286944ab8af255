package io.dstack.vpn.api.peerset;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a peer lives in a sharded peer set (ADR 0002). A node id always hashes to the same shard of a layout, so a
 * one-peer change rewrites one shard. Layouts have a power-of-two number of shards; the hash is 32-bit FNV-1a of
 * the node id's UTF-8 bytes, taken modulo the count (unsigned), so any language can find a peer's shard.
 */
public final class PeerSetShards {
    /** The most shards a layout may have: 256 shards of 256 KiB hold far more peers than a /16 has addresses. */
    public static final int MAX_SHARDS = 256;

    public static String shardName(String network, int shard, int of) {
        return PeerSetCodec.configMapName(network) + "-" + shard + "-of-" + of;
    }

    public static int shardOf(String nodeId, int of) {
        if (of <= 0 || Integer.bitCount(of) != 1 || of > MAX_SHARDS) {
            throw new IllegalArgumentException("a layout has a power-of-two number of shards up to " + MAX_SHARDS + ", not " + of);
        }
        int hash = 0x811c9dc5;
        for (byte b : nodeId.getBytes(StandardCharsets.UTF_8)) {
            hash ^= b & 0xff;
            hash *= 0x01000193;
        }
        return Integer.remainderUnsigned(hash, of);
    }

    /** The peers of each shard, in the given (sorted) order. */
    public static List<List<PeerSet.Peer>> split(List<PeerSet.Peer> peers, int of) {
        List<List<PeerSet.Peer>> shards = new ArrayList<>(of);
        for (int k = 0; k < of; k++) {
            shards.add(new ArrayList<>());
        }
        for (PeerSet.Peer p : peers) {
            shards.get(shardOf(p.nodeId(), of)).add(p);
        }
        return shards;
    }

    private PeerSetShards() {
    }
}
