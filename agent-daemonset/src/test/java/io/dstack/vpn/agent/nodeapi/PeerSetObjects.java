package io.dstack.vpn.agent.nodeapi;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.peerset.PeerSetIndex;
import io.dstack.vpn.api.peerset.PeerSetShard;
import io.dstack.vpn.api.peerset.PeerSetShards;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * Renders a network's peer-set ConfigMaps as the operator lays them out (ADR 0002, operator's PeerSetConfigMap): the
 * index {@code <net>-peerset} and shards {@code <net>-peerset-<k>-of-<K>}, a shard keeping its generation while its
 * peers stay the same, labels and generation annotation as the operator sets them. {@link #write} stores them in the
 * operator's order: shards, then the index, then the old layout's shards deleted.
 */
final class PeerSetObjects {
    private final String namespace;
    private final String network;
    private final Map<String, PeerSetShard> last = new HashMap<>();
    private List<String> lastShardNames = List.of();
    private final Integer proxyPort;

    PeerSetObjects(String namespace, String network) {
        this(namespace, network, 7000);
    }

    /** @param proxyPort the network's proxy port; null = no proxy (an agent under test then starts none) */
    PeerSetObjects(String namespace, String network, Integer proxyPort) {
        this.namespace = namespace;
        this.network = network;
        this.proxyPort = proxyPort;
    }

    static PeerSet.Peer peer(String nodeId, String publicKey, int host) {
        return new PeerSet.Peer(nodeId, publicKey, "10.100.0." + host, null, "TCP", 25);
    }

    /** Index first in the list, then the shards. */
    List<ConfigMap> render(long generation, List<PeerSet.Peer> peers, int of) {
        List<PeerSet.Peer> sorted = new ArrayList<>(peers);
        sorted.sort(Comparator.comparing(PeerSet.Peer::nodeId));
        PeerSet set = new PeerSet(network, generation, "10.100.0.0/24", 51820, 1420, "Mesh", null, proxyPort, List.copyOf(sorted));
        List<List<PeerSet.Peer>> split = PeerSetShards.split(sorted, of);
        List<PeerSetIndex.ShardRef> refs = new ArrayList<>();
        List<ConfigMap> shardMaps = new ArrayList<>();
        for (int k = 0; k < of; k++) {
            String name = PeerSetShards.shardName(network, k, of);
            PeerSetShard previous = last.get(name);
            long shardGeneration = previous != null && previous.peers().equals(split.get(k)) ? previous.generation() : generation;
            PeerSetShard shard = new PeerSetShard(network, k, of, shardGeneration, List.copyOf(split.get(k)));
            last.put(name, shard);
            refs.add(new PeerSetIndex.ShardRef(name, shardGeneration, shard.peers().size()));
            Map<String, String> allocations = new TreeMap<>();
            shard.peers().forEach(p -> allocations.put(network + "-" + p.nodeId(), p.address()));
            shardMaps.add(object(name, shardGeneration, Map.of(PeerSetCodec.PEERS_KEY, PeerSetCodec.encodeShard(shard),
                    PeerSetCodec.ALLOCATIONS_KEY, PeerSetCodec.encodeAllocations(allocations))));
        }
        List<ConfigMap> out = new ArrayList<>();
        out.add(object(PeerSetCodec.configMapName(network), generation,
                Map.of(PeerSetCodec.INDEX_KEY, PeerSetCodec.encodeIndex(PeerSetIndex.of(set, refs)))));
        out.addAll(shardMaps);
        return out;
    }

    /** The single object of the layout before sharding. */
    ConfigMap legacy(long generation, List<PeerSet.Peer> peers) {
        List<PeerSet.Peer> sorted = new ArrayList<>(peers);
        sorted.sort(Comparator.comparing(PeerSet.Peer::nodeId));
        PeerSet set = new PeerSet(network, generation, "10.100.0.0/24", 51820, 1420, "Mesh", null, null, List.copyOf(sorted));
        return object(PeerSetCodec.configMapName(network), generation, Map.of(PeerSetCodec.PEERS_KEY, PeerSetCodec.encode(set)));
    }

    /** Renders and stores: shards first, the index last, then the previous layout's shards deleted (a reshard). */
    List<ConfigMap> write(KubernetesClient client, long generation, List<PeerSet.Peer> peers, int of) {
        List<ConfigMap> maps = render(generation, peers, of);
        for (ConfigMap shard : maps.subList(1, maps.size())) {
            client.resource(shard).serverSideApply();
        }
        client.resource(maps.get(0)).serverSideApply();
        List<String> names = maps.subList(1, maps.size()).stream().map(cm -> cm.getMetadata().getName()).toList();
        for (String old : lastShardNames) {
            if (!names.contains(old)) {
                client.configMaps().inNamespace(namespace).withName(old).delete();
                last.remove(old);
            }
        }
        lastShardNames = names;
        return maps;
    }

    private ConfigMap object(String name, long generation, Map<String, String> data) {
        return new ConfigMapBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace(namespace)
                .addToLabels(VpnLabels.NETWORK, network)
                .addToLabels(VpnLabels.COMPONENT, VpnLabels.COMPONENT_PEERSET)
                .addToLabels("app.kubernetes.io/managed-by", "dstack-vpn-operator")
                .addToAnnotations(VpnLabels.PEERSET_GENERATION, Long.toString(generation))
                .endMetadata()
                .withData(data)
                .build();
    }
}
