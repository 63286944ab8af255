package io.dstack.vpn.operator.peerset;

import java.util.List;

import io.dstack.vpn.api.peerset.PeerSetIndex;
import io.dstack.vpn.api.peerset.PeerSetShard;

/**
 * A rendered peer set laid out as the objects agents read (ADR 0002): the index and its shards, encoded.
 *
 * @param index     the index, naming every shard with its generation
 * @param indexJson its {@code index.json}
 * @param shards    the shards in shard order
 */
public record PeerSetLayout(PeerSetIndex index, String indexJson, List<Shard> shards) {

    public PeerSetLayout {
        shards = List.copyOf(shards);
    }

    /**
     * @param name            the shard's ConfigMap
     * @param shard           its peers and generation
     * @param peersJson       its {@code peers.json}
     * @param allocationsJson the IPAM record of the peers (and held addresses) whose node id falls in this shard
     * @param bytes           both documents, in UTF-8
     */
    public record Shard(String name, PeerSetShard shard, String peersJson, String allocationsJson, int bytes) {
        /** Counts the bytes once: the layout, the size guard and the status all ask, and a shard is ~100 KB. */
        public static Shard of(String name, PeerSetShard shard, String peersJson, String allocationsJson) {
            return new Shard(name, shard, peersJson, allocationsJson, Utf8.length(peersJson) + Utf8.length(allocationsJson));
        }
    }

    /** Every object's documents together, in UTF-8. */
    public int bytes() {
        return Utf8.length(indexJson) + shards.stream().mapToInt(Shard::bytes).sum();
    }

    /** The largest object: what the per-object limit applies to. */
    public int largestObjectBytes() {
        return Math.max(Utf8.length(indexJson), shards.stream().mapToInt(Shard::bytes).max().orElse(0));
    }

    /** UTF-8 length without copying the string (the documents are large). */
    static final class Utf8 {
        static int length(String s) {
            int n = 0;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c < 0x80) {
                    n++;
                } else if (c < 0x800) {
                    n += 2;
                } else if (Character.isHighSurrogate(c)) {
                    n += 4;
                    i++;
                } else {
                    n += 3;
                }
            }
            return n;
        }

        private Utf8() {
        }
    }
}
