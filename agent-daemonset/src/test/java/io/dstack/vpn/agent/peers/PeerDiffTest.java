package io.dstack.vpn.agent.peers;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.agent.uapi.PeerState;
import io.dstack.vpn.api.peerset.DesiredPeer;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetView;
import io.dstack.vpn.api.wireguard.WireGuardKey;

class PeerDiffTest {
    static final String A = WireGuardKey.generatePrivate().publicKey().toBase64();
    static final String B = WireGuardKey.generatePrivate().publicKey().toBase64();
    static final String C = WireGuardKey.generatePrivate().publicKey().toBase64();

    static PeerState have(String key, String endpoint, String ip, int keepalive) {
        return new PeerState(key, endpoint, List.of(ip), keepalive, 1_700_000_000L, 10, 20);
    }

    @Test
    void unchangedPeersAreNotTouched() {
        var desired = List.of(new DesiredPeer("a", A, "10.254.0.1:51820", List.of("10.99.0.1/32"), 25));
        var actual = Map.of(A, have(A, "10.254.0.1:51820", "10.99.0.1/32", 25));
        assertThat(PeerDiff.compute(desired, actual)).isEmpty();
        assertThat(PeerDiff.toUapi(List.of())).isEmpty();
    }

    @Test
    void addsRemovesAndUpdatesOnlyWhatChanged() {
        var desired = List.of(
                new DesiredPeer("a", A, "10.254.0.1:51820", List.of("10.99.0.1/32"), 25),
                new DesiredPeer("b", B, "10.254.0.9:51820", List.of("10.99.0.2/32"), 0));
        var actual = Map.of(
                A, have(A, "10.254.0.1:51820", "10.99.0.1/32", 25),
                B, have(B, "10.254.0.2:51820", "10.99.0.2/32", 0),
                C, have(C, null, "10.99.0.3/32", 0));
        var changes = PeerDiff.compute(desired, actual);
        assertThat(changes).hasSize(2);
        assertThat(changes).anySatisfy(c -> assertThat(c).isEqualTo(new PeerDiff.Remove(C)));
        assertThat(changes).anySatisfy(c -> assertThat(c).isInstanceOfSatisfying(PeerDiff.Upsert.class, u -> {
            assertThat(u.publicKey()).isEqualTo(B);
            assertThat(u.existing()).isTrue();
        }));
        String uapi = PeerDiff.toUapi(changes);
        assertThat(uapi).startsWith("public_key=" + WireGuardKey.parse(C).toHex() + "\nremove=true\n");
        assertThat(uapi).contains("update_only=true\nendpoint=10.254.0.9:51820\n").contains("replace_allowed_ips=true\nallowed_ip=10.99.0.2/32\n");
        assertThat(uapi).doesNotContain(WireGuardKey.parse(A).toHex());
    }

    @Test
    void meshViewSkipsSelfAndHubViewKeepsSpokesToHubs() {
        var peers = List.of(new PeerSet.Peer("hub", A, "10.99.0.1", "10.254.0.1:51820", "UDP", null),
                new PeerSet.Peer("s1", B, "10.99.0.2", null, "UDP", 25),
                new PeerSet.Peer("s2", C, "10.99.0.3", null, "UDP", null));
        PeerSet mesh = new PeerSet("n", 3, "10.99.0.0/24", 51820, 1420, "Mesh", null, null, peers);
        assertThat(PeerSetView.desiredFor(mesh, "s1")).extracting(DesiredPeer::nodeId).containsExactly("hub", "s2");
        assertThat(PeerSetView.desiredFor(mesh, "revoked-node")).as("a node that is not a member peers with nobody").isEmpty();
        PeerSet hubs = new PeerSet("n", 3, "10.99.0.0/24", 51820, 1420, "HubAndSpoke", List.of("hub"), null, peers);
        var spoke = PeerSetView.desiredFor(hubs, "s1");
        assertThat(spoke).singleElement().satisfies(p -> assertThat(p.allowedIps()).containsExactly("10.99.0.0/24"));
        assertThat(PeerSetView.desiredFor(hubs, "hub")).extracting(DesiredPeer::nodeId).containsExactly("s1", "s2");
    }
}
