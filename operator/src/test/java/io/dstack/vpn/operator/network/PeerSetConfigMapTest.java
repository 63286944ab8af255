package io.dstack.vpn.operator.network;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.peerset.StoredPeerSet;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerStatus;
import io.dstack.vpn.operator.Fixtures;
import io.dstack.vpn.operator.peerset.PeerSetLayout;
import io.dstack.vpn.operator.peerset.PeerSetSharder;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;

class PeerSetConfigMapTest {
    static final PeerSet SET = new PeerSet("net", 3, "10.0.0.0/24", 51820, 1420, "Mesh", null, null,
            List.of(new PeerSet.Peer("node-a", Fixtures.KEY_A, "10.0.0.1", null, "UDP", null)));
    static final PeerSetLayout LAYOUT = PeerSetSharder.layout(SET, Map.of("a", "node-a"), Map.of("a", "10.0.0.1"), null,
            PeerSetSharder.Limits.DEFAULT);

    @Test
    void theIndexAndTheShardAreNamedLabelledAndOwnedByTheNetwork() {
        var net = Fixtures.devNetwork();
        net.getMetadata().setUid("uid-1");
        ConfigMap index = PeerSetConfigMap.index(net, LAYOUT);
        ConfigMap shard = PeerSetConfigMap.shard(net, LAYOUT.shards().get(0));

        assertThat(index.getMetadata().getName()).isEqualTo("net-peerset");
        assertThat(shard.getMetadata().getName()).isEqualTo("net-peerset-0-of-1");
        for (ConfigMap cm : List.of(index, shard)) {
            assertThat(cm.getMetadata().getNamespace()).isEqualTo("ns");
            assertThat(cm.getMetadata().getLabels()).isEqualTo(Map.of("vpn.dstack.io/network", "net", "vpn.dstack.io/component", "peerset",
                    "app.kubernetes.io/managed-by", "dstack-vpn-operator"));
            assertThat(cm.getMetadata().getAnnotations()).isEqualTo(Map.of("vpn.dstack.io/peerset-generation", "3"));
            OwnerReference owner = cm.getMetadata().getOwnerReferences().get(0);
            assertThat(owner.getKind()).isEqualTo("VpnNetwork");
            assertThat(owner.getApiVersion()).isEqualTo("vpn.dstack.io/v1alpha1");
            assertThat(owner.getName()).isEqualTo("net");
            assertThat(owner.getUid()).isEqualTo("uid-1");
            assertThat(owner.getController()).isTrue();
            assertThat(owner.getBlockOwnerDeletion()).isTrue();
        }
        assertThat(index.getData()).containsOnlyKeys("index.json");
        assertThat(shard.getData()).isEqualTo(Map.of("peers.json", LAYOUT.shards().get(0).peersJson(), "allocations.json", "{\"a\":\"10.0.0.1\"}"));
        // What the operator writes, read back, is the set it rendered.
        StoredPeerSet read = PeerSetConfigMap.read(net, List.of(index, shard));
        assertThat(read.complete()).isTrue();
        assertThat(read.whole()).isEqualTo(SET);
        assertThat(read.allocations()).isEqualTo(Map.of("a", "10.0.0.1"));
    }

    @Test
    void holdsOnlyExactlyTheseDocuments() {
        ConfigMap stored = PeerSetConfigMap.index(Fixtures.devNetwork(), LAYOUT);
        assertThat(PeerSetConfigMap.holds(stored, PeerSetConfigMap.indexData(LAYOUT))).isTrue();
        assertThat(PeerSetConfigMap.holds(stored, PeerSetConfigMap.shardData(LAYOUT.shards().get(0)))).isFalse();
        assertThat(PeerSetConfigMap.holds(null, PeerSetConfigMap.indexData(LAYOUT))).isFalse();
        stored.getData().put("peers.json", "{}"); // what the layout before sharding left behind
        assertThat(PeerSetConfigMap.holds(stored, PeerSetConfigMap.indexData(LAYOUT))).isFalse();
    }

    static Stream<Arguments> storedAllocations() {
        return Stream.of(
                Arguments.of("the record wins over a peer's status", legacy("{\"a\":\"10.0.0.1\"}"),
                        Map.of("a", "10.0.0.1", "b", "10.0.0.2")),
                Arguments.of("no ConfigMap: every address a peer's status shows", null,
                        Map.of("a", "10.0.0.9", "b", "10.0.0.2")),
                Arguments.of("unreadable record: recovered from peer status", legacy("[oops"),
                        Map.of("a", "10.0.0.9", "b", "10.0.0.2")),
                Arguments.of("the record keeps addresses of peers that have none in status (outside peers, say)",
                        legacy("{\"token/node-o\":\"10.0.0.7\"}"),
                        Map.of("token/node-o", "10.0.0.7", "a", "10.0.0.9", "b", "10.0.0.2")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("storedAllocations")
    void readsTheAllocations(String name, ConfigMap stored, Map<String, String> expected) {
        List<VpnPeer> peers = List.of(peerShowing("a", "10.0.0.9"), peerShowing("b", "10.0.0.2"), peerShowing("c", null));
        StoredPeerSet read = stored == null ? null : PeerSetConfigMap.read(Fixtures.devNetwork(), List.of(stored));
        assertThat(PeerSetConfigMap.readAllocations(read, peers)).isEqualTo(expected);
    }

    private static VpnPeer peerShowing(String name, String address) {
        VpnPeer p = Fixtures.peer(name, "node-" + name, Fixtures.KEY_A, "2026-01-01T00:00:00Z");
        if (address != null) {
            p.setStatus(new VpnPeerStatus());
            p.getStatus().address = address;
        }
        return p;
    }

    /** The single object the operator wrote before sharding. */
    private static ConfigMap legacy(String allocations) {
        return new ConfigMapBuilder().withNewMetadata().withName("net-peerset").endMetadata()
                .addToData(PeerSetCodec.PEERS_KEY, PeerSetCodec.encode(SET))
                .addToData(PeerSetCodec.ALLOCATIONS_KEY, allocations).build();
    }
}
