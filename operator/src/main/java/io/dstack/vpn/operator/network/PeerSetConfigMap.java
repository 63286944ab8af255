package io.dstack.vpn.operator.network;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jboss.logging.Logger;

import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;

/**
 * The network's peer-set ConfigMap (docs/adr/0002): the object the operator wants stored, and what it reads
 * back from the stored one. Builds and decodes only; the reconciler does the write.
 */
final class PeerSetConfigMap {
    private static final Logger LOG = Logger.getLogger(PeerSetConfigMap.class);

    static ConfigMap desired(VpnNetwork network, String peersJson, String allocationsJson, long generation) {
        String name = network.getMetadata().getName();
        return new ConfigMapBuilder()
                .withNewMetadata()
                .withName(PeerSetCodec.configMapName(name))
                .withNamespace(network.getMetadata().getNamespace())
                .addToLabels(VpnLabels.NETWORK, name)
                .addToLabels(VpnLabels.COMPONENT, VpnLabels.COMPONENT_PEERSET)
                .addToLabels("app.kubernetes.io/managed-by", "dstack-vpn-operator")
                .addToAnnotations(VpnLabels.PEERSET_GENERATION, Long.toString(generation))
                .addNewOwnerReference()
                .withApiVersion(network.getApiVersion()).withKind(network.getKind())
                .withName(name).withUid(network.getMetadata().getUid())
                .withController(true).withBlockOwnerDeletion(true)
                .endOwnerReference()
                .endMetadata()
                .withData(data(peersJson, allocationsJson))
                .build();
    }

    /** Whether the stored ConfigMap already holds these documents: then there is nothing to write. */
    static boolean holds(ConfigMap stored, String peersJson, String allocationsJson) {
        return stored != null && data(peersJson, allocationsJson).equals(stored.getData());
    }

    private static Map<String, String> data(String peersJson, String allocationsJson) {
        return Map.of(PeerSetCodec.PEERS_KEY, peersJson, PeerSetCodec.ALLOCATIONS_KEY, allocationsJson);
    }

    /** The stored peer set; null if there is none or it is unreadable (a new one is then rendered). */
    static PeerSet readPeerSet(ConfigMap stored) {
        String json = entry(stored, PeerSetCodec.PEERS_KEY);
        if (json == null) {
            return null;
        }
        try {
            return PeerSetCodec.decode(json);
        } catch (IllegalArgumentException e) {
            LOG.warnf("peer set ConfigMap %s is unreadable (%s); rendering a new one", stored.getMetadata().getName(), e.getMessage());
            return null;
        }
    }

    /**
     * The IPAM record from the ConfigMap; a peer missing there (ConfigMap deleted, say) keeps the address its
     * status still shows, so a lost ConfigMap renumbers nobody.
     */
    static Map<String, String> readAllocations(ConfigMap stored, List<VpnPeer> peers) {
        Map<String, String> allocations = new LinkedHashMap<>();
        String json = entry(stored, PeerSetCodec.ALLOCATIONS_KEY);
        if (json != null) {
            try {
                allocations.putAll(PeerSetCodec.decodeAllocations(json));
            } catch (IllegalArgumentException e) {
                LOG.warnf("address allocations in %s are unreadable (%s); recovering them from peer status",
                        stored.getMetadata().getName(), e.getMessage());
            }
        }
        for (VpnPeer p : peers) {
            if (p.getStatus() != null && p.getStatus().address != null) {
                allocations.putIfAbsent(p.getMetadata().getName(), p.getStatus().address);
            }
        }
        return allocations;
    }

    private static String entry(ConfigMap stored, String key) {
        return stored == null || stored.getData() == null ? null : stored.getData().get(key);
    }

    private PeerSetConfigMap() {
    }
}
