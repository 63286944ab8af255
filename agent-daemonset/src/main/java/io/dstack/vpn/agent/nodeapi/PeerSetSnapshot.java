package io.dstack.vpn.agent.nodeapi;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetIndex;
import io.dstack.vpn.api.peerset.PeerSetShard;
import io.dstack.vpn.api.peerset.PeerSetShards;
import io.dstack.vpn.api.peerset.StoredPeerSet;
import io.fabric8.kubernetes.api.model.ConfigMap;

/**
 * A network's newest complete peer set as the node API serves it: the decoded set (for membership) and the stored
 * objects it was assembled from (to send, as stored, so the standalone agent decodes them with the in-cluster code).
 *
 * @param indexObject  {@code <network>-peerset}: the index, or the whole set of the layout before sharding
 * @param shardObjects the listed shards' objects, by name
 * @param layoutSince  the first generation this server saw in the current layout (shard count, or legacy): a node
 *                     that knows an older generation may hold another layout's shards, so it gets every shard
 * @param answers      encoded answers, by the generation asked about (-1: every object), so that many nodes asking
 *                     at once (after a reshard, say) share one encoding
 */
record PeerSetSnapshot(String network, StoredPeerSet set, ConfigMap indexObject, Map<String, ConfigMap> shardObjects, long layoutSince,
        Map<Long, byte[]> answers) {
    private static final int MAX_ANSWERS = 16;

    PeerSetSnapshot(String network, StoredPeerSet set, ConfigMap indexObject, Map<String, ConfigMap> shardObjects, long layoutSince) {
        this(network, set, indexObject, shardObjects, layoutSince, new java.util.concurrent.ConcurrentHashMap<>());
    }

    long generation() {
        return set.index().generation();
    }

    /** Identifies the layout: shard names contain the shard count, so equal counts mean equal names. */
    String layout() {
        return set.legacy() != null ? "legacy" : "shards:" + set.index().shards().size();
    }

    /**
     * The public key the set lists for {@code nodeId}, looked up in the one shard the id hashes to (ADR 0002), or
     * in the whole legacy set. Empty when the node is not in the set.
     */
    Optional<String> publicKeyOf(String nodeId) {
        if (set.legacy() != null) {
            return find(set.legacy().peers(), nodeId);
        }
        List<PeerSetIndex.ShardRef> refs = set.index().shards();
        if (refs.isEmpty()) {
            return Optional.empty();
        }
        int of = refs.size();
        PeerSetShard shard;
        try {
            shard = set.shards().get(PeerSetShards.shardName(network, PeerSetShards.shardOf(nodeId, of), of));
        } catch (IllegalArgumentException notAPowerOfTwo) {
            // An index the operator would not write; look everywhere rather than refuse a listed node.
            return set.shards().values().stream().map(s -> find(s.peers(), nodeId)).flatMap(Optional::stream).findFirst();
        }
        return shard == null ? Optional.empty() : find(shard.peers(), nodeId);
    }

    private boolean everything(long known) {
        return known <= 0 || known < layoutSince;
    }

    /** The encoded answer for a node that knows {@code known}, encoded once per distinct question (a few kept). */
    byte[] answer(long known, java.util.function.Function<List<ConfigMap>, byte[]> encode) {
        long key = set.legacy() != null || everything(known) ? -1 : known;
        byte[] cached = answers.get(key);
        if (cached != null) {
            return cached;
        }
        byte[] encoded = encode.apply(objectsNewerThan(known));
        if (answers.size() < MAX_ANSWERS) {
            answers.putIfAbsent(key, encoded);
        }
        return encoded;
    }

    private static Optional<String> find(List<PeerSet.Peer> peers, String nodeId) {
        for (PeerSet.Peer p : peers) {
            if (nodeId.equals(p.nodeId())) {
                return Optional.ofNullable(p.publicKey());
            }
        }
        return Optional.empty();
    }

    /**
     * What a node that holds the complete set at generation {@code known} needs for this one: the index object and
     * the shards whose peers changed after {@code known} (a shard's generation is the one at which its peers last
     * changed, so the others are what the node already has). Every shard when {@code known} is 0, or older than
     * this layout (a reshard renames them all).
     */
    List<ConfigMap> objectsNewerThan(long known) {
        List<ConfigMap> out = new ArrayList<>();
        out.add(indexObject);
        if (set.legacy() != null) {
            return out;
        }
        boolean all = everything(known);
        for (PeerSetIndex.ShardRef ref : set.index().shards()) {
            PeerSetShard shard = set.shards().get(ref.name());
            ConfigMap object = shardObjects.get(ref.name());
            if (object != null && (all || shard.generation() > known)) {
                out.add(object);
            }
        }
        return out;
    }
}
