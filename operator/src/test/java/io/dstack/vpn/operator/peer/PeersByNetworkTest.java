package io.dstack.vpn.operator.peer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerSpec;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;

class PeersByNetworkTest {
    @ParameterizedTest
    @CsvSource(nullValues = "-", value = {
            "ns,    mesh, ns/mesh",
            "other, mesh, other/mesh",
            "ns,    -,    -",
    })
    void aPeerIsIndexedUnderItsNamespaceAndNetwork(String namespace, String network, String key) {
        VpnPeer peer = new VpnPeer();
        peer.setMetadata(new ObjectMetaBuilder().withName("p").withNamespace(namespace).build());
        if (network != null) {
            peer.setSpec(new VpnPeerSpec());
            peer.getSpec().network = network;
        }
        assertThat(PeersByNetwork.keysOf(peer)).isEqualTo(key == null ? List.of() : List.of(key));
        if (key != null) {
            assertThat(PeersByNetwork.key(namespace, network)).isEqualTo(key);
        }
    }
}
