package io.dstack.vpn.operator.network;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jboss.logging.Logger;

import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.peerset.StoredPeerSet;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.operator.peerset.PeerSetLayout;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;

/**
 * The network's peer-set ConfigMaps (docs/adr/0002): the index and shard objects the operator wants stored, and what
 * it reads back from the stored ones. Builds and decodes only; the reconciler does the writes.
 */
final class PeerSetConfigMap {
    private static final Logger LOG = Logger.getLogger(PeerSetConfigMap.class);

    static ConfigMap index(VpnNetwork network, PeerSetLayout layout) {
        return object(network, PeerSetCodec.configMapName(network.getMetadata().getName()), layout.index().generation(),
                indexData(layout));
    }

    static ConfigMap shard(VpnNetwork network, PeerSetLayout.Shard shard) {
        return object(network, shard.name(), shard.shard().generation(), shardData(shard));
    }

    static Map<String, String> indexData(PeerSetLayout layout) {
        return Map.of(PeerSetCodec.INDEX_KEY, layout.indexJson());
    }

    static Map<String, String> shardData(PeerSetLayout.Shard shard) {
        return Map.of(PeerSetCodec.PEERS_KEY, shard.peersJson(), PeerSetCodec.ALLOCATIONS_KEY, shard.allocationsJson());
    }

    private static ConfigMap object(VpnNetwork network, String name, long generation, Map<String, String> data) {
        String networkName = network.getMetadata().getName();
        return new ConfigMapBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace(network.getMetadata().getNamespace())
                .addToLabels(VpnLabels.NETWORK, networkName)
                .addToLabels(VpnLabels.COMPONENT, VpnLabels.COMPONENT_PEERSET)
                .addToLabels("app.kubernetes.io/managed-by", "dstack-vpn-operator")
                .addToAnnotations(VpnLabels.PEERSET_GENERATION, Long.toString(generation))
                .addNewOwnerReference()
                .withApiVersion(network.getApiVersion()).withKind(network.getKind())
                .withName(networkName).withUid(network.getMetadata().getUid())
                .withController(true).withBlockOwnerDeletion(true)
                .endOwnerReference()
                .endMetadata()
                .withData(data)
                .build();
    }

    /** Whether the stored ConfigMap already holds exactly these documents: then there is nothing to write. */
    static boolean holds(ConfigMap stored, Map<String, String> data) {
        return stored != null && data.equals(stored.getData());
    }

    /** The stored peer set (either layout); null if there is none or its index is unreadable (a new one is then rendered). */
    static StoredPeerSet read(VpnNetwork network, Collection<ConfigMap> stored) {
        return StoredPeerSet.from(network.getMetadata().getName(), stored, (name, message) ->
                LOG.warnf("peer-set ConfigMap %s/%s is unreadable (%s); rendering it again", network.getMetadata().getNamespace(), name, message))
                .orElse(null);
    }

    /**
     * The IPAM record from the stored objects; a peer missing there (a ConfigMap deleted, say) keeps the address its
     * status still shows, so a lost ConfigMap renumbers nobody.
     */
    static Map<String, String> readAllocations(StoredPeerSet stored, List<VpnPeer> peers) {
        Map<String, String> allocations = new LinkedHashMap<>();
        if (stored != null) {
            allocations.putAll(stored.allocations());
        }
        for (VpnPeer p : peers) {
            if (p.getStatus() != null && p.getStatus().address != null) {
                allocations.putIfAbsent(p.getMetadata().getName(), p.getStatus().address);
            }
        }
        return allocations;
    }

    private PeerSetConfigMap() {
    }
}
