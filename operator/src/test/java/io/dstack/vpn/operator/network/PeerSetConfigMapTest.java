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
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerStatus;
import io.dstack.vpn.operator.Fixtures;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;

class PeerSetConfigMapTest {
    static final PeerSet SET = new PeerSet("net", 3, "10.0.0.0/24", 51820, 1420, "Mesh", null, null,
            List.of(new PeerSet.Peer("node-a", Fixtures.KEY_A, "10.0.0.1", null, "UDP", null)));

    @Test
    void theDesiredObjectIsNamedLabelledAndOwnedByTheNetwork() {
        var net = Fixtures.devNetwork();
        net.getMetadata().setUid("uid-1");
        ConfigMap cm = PeerSetConfigMap.desired(net, "{\"p\":1}", "{\"a\":\"10.0.0.1\"}", 3);

        assertThat(cm.getMetadata().getName()).isEqualTo("net-peerset");
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
        assertThat(cm.getData()).isEqualTo(Map.of("peers.json", "{\"p\":1}", "allocations.json", "{\"a\":\"10.0.0.1\"}"));
    }

    @Test
    void holdsOnlyExactlyTheseDocuments() {
        ConfigMap stored = PeerSetConfigMap.desired(Fixtures.devNetwork(), "P", "A", 1);
        assertThat(PeerSetConfigMap.holds(stored, "P", "A")).isTrue();
        assertThat(PeerSetConfigMap.holds(stored, "P", "B")).isFalse();
        assertThat(PeerSetConfigMap.holds(null, "P", "A")).isFalse();
        stored.getData().put("extra", "x");
        assertThat(PeerSetConfigMap.holds(stored, "P", "A")).isFalse();
    }

    static Stream<Arguments> storedSets() {
        return Stream.of(
                Arguments.of("no ConfigMap", null, null),
                Arguments.of("no data", new ConfigMapBuilder().withNewMetadata().withName("net-peerset").endMetadata().build(), null),
                Arguments.of("no peers.json", stored(null, "{}"), null),
                Arguments.of("unreadable peers.json: a new set is rendered", stored("{not json", "{}"), null),
                Arguments.of("a readable set", stored(PeerSetCodec.encode(SET), "{}"), SET));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("storedSets")
    void readsThePeerSet(String name, ConfigMap stored, PeerSet expected) {
        assertThat(PeerSetConfigMap.readPeerSet(stored)).isEqualTo(expected);
    }

    static Stream<Arguments> storedAllocations() {
        return Stream.of(
                Arguments.of("the record wins over a peer's status", stored("{}", "{\"a\":\"10.0.0.1\"}"),
                        Map.of("a", "10.0.0.1", "b", "10.0.0.2")),
                Arguments.of("no ConfigMap: every address a peer's status shows", null,
                        Map.of("a", "10.0.0.9", "b", "10.0.0.2")),
                Arguments.of("unreadable record: recovered from peer status", stored("{}", "[oops"),
                        Map.of("a", "10.0.0.9", "b", "10.0.0.2")),
                Arguments.of("the record keeps addresses of peers that have none in status (outside peers, say)",
                        stored("{}", "{\"token/node-o\":\"10.0.0.7\"}"),
                        Map.of("token/node-o", "10.0.0.7", "a", "10.0.0.9", "b", "10.0.0.2")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("storedAllocations")
    void readsTheAllocations(String name, ConfigMap stored, Map<String, String> expected) {
        List<VpnPeer> peers = List.of(peerShowing("a", "10.0.0.9"), peerShowing("b", "10.0.0.2"), peerShowing("c", null));
        assertThat(PeerSetConfigMap.readAllocations(stored, peers)).isEqualTo(expected);
    }

    private static VpnPeer peerShowing(String name, String address) {
        VpnPeer p = Fixtures.peer(name, "node-" + name, Fixtures.KEY_A, "2026-01-01T00:00:00Z");
        if (address != null) {
            p.setStatus(new VpnPeerStatus());
            p.getStatus().address = address;
        }
        return p;
    }

    private static ConfigMap stored(String peers, String allocations) {
        var b = new ConfigMapBuilder().withNewMetadata().withName("net-peerset").endMetadata();
        if (peers != null) {
            b.addToData(PeerSetCodec.PEERS_KEY, peers);
        }
        return b.addToData(PeerSetCodec.ALLOCATIONS_KEY, allocations).build();
    }
}
