package io.dstack.vpn.api.peerset;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import io.dstack.vpn.api.VpnLabels;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * A network's peer set as stored (ADR 0002): the index and the shards it lists, or the single object of the layout
 * before sharding ({@link #legacy()}). Readers (agent, operator, CLI, tests) assemble the whole set from here.
 *
 * @param index  the index; for the legacy layout, one built from the whole set with no shards
 * @param legacy the whole set, when {@code <network>-peerset} still holds {@code peers.json}; else null
 * @param shards the listed shards that are present and readable, by name
 * @param allocations the IPAM record, from the legacy object or the listed shards
 */
public record StoredPeerSet(PeerSetIndex index, PeerSet legacy, Map<String, PeerSetShard> shards, Map<String, String> allocations) {

    /** Thrown away objects and unreadable ones are reported here rather than failing the whole read. */
    public interface Problems {
        void unreadable(String configMap, String message);
    }

    /** Whether every listed shard is present at its listed generation or newer: only then is {@link #whole()} the set. */
    public boolean complete() {
        if (legacy != null) {
            return true;
        }
        for (PeerSetIndex.ShardRef ref : index.shards()) {
            PeerSetShard shard = shards.get(ref.name());
            if (shard == null || shard.generation() < ref.generation()) {
                return false;
            }
        }
        return true;
    }

    /** The whole set: the index with the peers of the present shards, sorted by node id; generation = the index's. */
    public PeerSet whole() {
        if (legacy != null) {
            return legacy;
        }
        List<PeerSet.Peer> peers = new ArrayList<>();
        for (PeerSetIndex.ShardRef ref : index.shards()) {
            PeerSetShard shard = shards.get(ref.name());
            if (shard != null) {
                peers.addAll(shard.peers());
            }
        }
        peers.sort(Comparator.comparing(PeerSet.Peer::nodeId));
        return index.withPeers(List.copyOf(peers));
    }

    /** How many shards the stored layout has (1 for the legacy layout). */
    public int shardCount() {
        return legacy != null || index.shards().isEmpty() ? 1 : index.shards().size();
    }

    /**
     * Assembles the stored set from a network's peer-set ConfigMaps (any order; shards of other layouts and other
     * networks are ignored). Empty when there is no readable index.
     */
    public static Optional<StoredPeerSet> from(String network, Collection<ConfigMap> configMaps, Problems problems) {
        String indexName = PeerSetCodec.configMapName(network);
        Map<String, ConfigMap> byName = new HashMap<>();
        configMaps.forEach(cm -> byName.put(cm.getMetadata().getName(), cm));
        ConfigMap indexMap = byName.get(indexName);
        StoredPeerSet head;
        try {
            head = indexMap == null ? null : decodeIndexObject(indexMap).orElse(null);
        } catch (IllegalArgumentException e) {
            problems.unreadable(indexName, e.getMessage());
            return Optional.empty();
        }
        if (head == null) {
            return Optional.empty();
        }
        Map<String, String> allocations = new TreeMap<>();
        if (head.legacy() != null) {
            try {
                readAllocations(indexMap, allocations);
            } catch (IllegalArgumentException e) {
                problems.unreadable(indexName, e.getMessage());
            }
            return Optional.of(new StoredPeerSet(head.index(), head.legacy(), Map.of(), allocations));
        }
        Map<String, PeerSetShard> shards = new LinkedHashMap<>();
        for (PeerSetIndex.ShardRef ref : head.index().shards()) {
            ConfigMap cm = byName.get(ref.name());
            if (cm == null || cm.getData() == null) {
                continue;
            }
            try {
                shards.put(ref.name(), decodeShard(cm));
                readAllocations(cm, allocations);
            } catch (IllegalArgumentException e) {
                problems.unreadable(ref.name(), e.getMessage());
            }
        }
        return Optional.of(new StoredPeerSet(head.index(), null, shards, allocations));
    }

    /** Adds the object's IPAM record, if it has one; throws IllegalArgumentException when it is unreadable. */
    private static void readAllocations(ConfigMap cm, Map<String, String> into) {
        String json = cm.getData().get(PeerSetCodec.ALLOCATIONS_KEY);
        if (json != null) {
            into.putAll(PeerSetCodec.decodeAllocations(json));
        }
    }

    /**
     * The index object {@code <network>-peerset} alone, for a reader that decodes each object as it arrives (the
     * agent): a sharded set with no shards yet (add them with {@link #withShards}), or the whole legacy set. Empty
     * when it holds neither key; throws IllegalArgumentException when it is unreadable.
     */
    public static Optional<StoredPeerSet> decodeIndexObject(ConfigMap cm) {
        Map<String, String> data = cm.getData();
        if (data != null && data.containsKey(PeerSetCodec.INDEX_KEY)) {
            PeerSetIndex index = PeerSetCodec.decodeIndex(data.get(PeerSetCodec.INDEX_KEY));
            if (index.shards() == null) {
                throw new IllegalArgumentException("peer-set index lists no shards");
            }
            return Optional.of(new StoredPeerSet(index, null, Map.of(), Map.of()));
        }
        if (data != null && data.containsKey(PeerSetCodec.PEERS_KEY)) {
            PeerSet whole = PeerSetCodec.decode(data.get(PeerSetCodec.PEERS_KEY));
            if (whole.peers() == null) {
                throw new IllegalArgumentException("peer set has no peers list");
            }
            return Optional.of(new StoredPeerSet(PeerSetIndex.of(whole, List.of()), whole, Map.of(), Map.of()));
        }
        return Optional.empty();
    }

    /**
     * This index with already decoded shards, of which only those it lists are kept (O(shards), no decoding); the
     * allocations are left empty. A legacy set is returned as it is.
     */
    public StoredPeerSet withShards(Map<String, PeerSetShard> decoded) {
        if (legacy != null) {
            return this;
        }
        Map<String, PeerSetShard> listed = new LinkedHashMap<>();
        for (PeerSetIndex.ShardRef ref : index.shards()) {
            PeerSetShard shard = decoded.get(ref.name());
            if (shard != null) {
                listed.put(ref.name(), shard);
            }
        }
        return new StoredPeerSet(index, null, listed, Map.of());
    }

    /** A shard's peers; throws IllegalArgumentException when they are missing or unreadable. */
    public static PeerSetShard decodeShard(ConfigMap cm) {
        String json = cm.getData() == null ? null : cm.getData().get(PeerSetCodec.PEERS_KEY);
        if (json == null) {
            throw new IllegalArgumentException("peer-set shard has no " + PeerSetCodec.PEERS_KEY);
        }
        return PeerSetCodec.decodeShard(json);
    }

    /** A network's peer-set objects (index and shards, any layout) through the API, by their labels. */
    public static List<ConfigMap> objects(KubernetesClient client, String namespace, String network) {
        return client.configMaps().inNamespace(namespace)
                .withLabel(VpnLabels.NETWORK, network)
                .withLabel(VpnLabels.COMPONENT, VpnLabels.COMPONENT_PEERSET)
                .list().getItems();
    }

    /** Reads a network's peer set through the API (CLI, tests): {@link #objects}, then {@link #from}. */
    public static Optional<StoredPeerSet> read(KubernetesClient client, String namespace, String network) {
        return from(network, objects(client, namespace, network), (name, message) -> {
            throw new IllegalArgumentException(name + ": " + message);
        });
    }

    /** The whole set through the API when it is stored and complete; empty otherwise. */
    public static Optional<PeerSet> readWhole(KubernetesClient client, String namespace, String network) {
        return read(client, namespace, network).filter(StoredPeerSet::complete).map(StoredPeerSet::whole);
    }
}
