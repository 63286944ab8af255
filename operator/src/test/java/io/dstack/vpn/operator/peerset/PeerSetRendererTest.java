package io.dstack.vpn.operator.peerset;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.v1alpha1.DevAllowList;
import io.dstack.vpn.operator.Fixtures;

class PeerSetRendererTest {
    final String keyA = Fixtures.KEY_A;
    final String keyB = Fixtures.KEY_B;

    @Test
    void generationMovesOnlyWhenMembershipChanges() {
        var net = Fixtures.devNetwork(new DevAllowList.AllowedNode("node-a", keyA));
        var a = Fixtures.peer("a", "node-a", keyA, "2026-01-01T00:00:00Z");
        var b = Fixtures.peer("b", "node-b", keyB, "2026-01-01T00:00:01Z");
        PeerSet first = PeerSetRenderer.render(net, null, List.of(b, a), Map.of("a", "10.0.0.1", "b", "10.0.0.2"));
        assertThat(first.generation()).isEqualTo(1);
        assertThat(first.peers()).extracting(PeerSet.Peer::nodeId).containsExactly("node-a", "node-b");

        PeerSet same = PeerSetRenderer.render(net, first, List.of(a, b), Map.of("a", "10.0.0.1", "b", "10.0.0.2"));
        assertThat(same.generation()).isEqualTo(1);
        assertThat(PeerSetCodec.encode(same)).isEqualTo(PeerSetCodec.encode(first));

        PeerSet fewer = PeerSetRenderer.render(net, first, List.of(a), Map.of("a", "10.0.0.1"));
        assertThat(fewer.generation()).isEqualTo(2);
        assertThat(fewer.peers()).hasSize(1);
    }

    @Test
    void aLostSetContinuesAfterTheLastRecordedGeneration() {
        var net = Fixtures.devNetwork();
        net.setStatus(new io.dstack.vpn.api.v1alpha1.VpnNetworkStatus());
        net.getStatus().peerSet = new io.dstack.vpn.api.v1alpha1.VpnNetworkStatus.PeerSetRef();
        net.getStatus().peerSet.generation = 7L;
        assertThat(PeerSetRenderer.render(net, null, List.of(), Map.of()).generation()).isEqualTo(8);
    }

    @Test
    void leavesOutAdmittedPeersWithoutAddress() {
        var net = Fixtures.devNetwork();
        var a = Fixtures.peer("a", "node-a", keyA, "2026-01-01T00:00:00Z");
        PeerSet set = PeerSetRenderer.render(net, null, List.of(a), Map.of());
        assertThat(set.peers()).isEmpty();
        assertThat(set.listenPort()).isEqualTo(51820);
        assertThat(set.topology()).isEqualTo("Mesh");
    }

    @Test
    void codecRoundTrips() {
        var net = Fixtures.devNetwork();
        var a = Fixtures.peer("a", "node-a", keyA, "2026-01-01T00:00:00Z");
        PeerSet set = PeerSetRenderer.render(net, null, List.of(a), Map.of("a", "10.0.0.1"));
        assertThat(PeerSetCodec.decode(PeerSetCodec.encode(set))).isEqualTo(set);
        assertThat(PeerSetCodec.decodeAllocations(PeerSetCodec.encodeAllocations(Map.of("a", "10.0.0.1"))))
                .containsEntry("a", "10.0.0.1");
    }
}
