package io.dstack.vpn.operator.access;



import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.api.v1alpha1.ChainAccess;
import io.dstack.vpn.api.v1alpha1.DevAllowList;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.operator.Fixtures;

class MembershipResolverTest {
    private static final String KEY_A = Fixtures.KEY_A;
    private static final String KEY_B = Fixtures.KEY_B;
    private final MembershipResolver resolver = new MembershipResolver(new AccessPolicies());

    @Test
    void admitsListedNodeWithItsKeyOnly() {
        var net = Fixtures.devNetwork(new DevAllowList.AllowedNode("node-a", KEY_A), new DevAllowList.AllowedNode("node-b", KEY_A));
        var d = resolver.resolve(net, List.of(
                Fixtures.peer("a", "node-a", KEY_A, "2026-01-01T00:00:00Z"),
                Fixtures.peer("b", "node-b", KEY_B, "2026-01-01T00:00:01Z"),
                Fixtures.peer("c", "node-c", KEY_A, "2026-01-01T00:00:02Z")));
        assertThat(d.get("a").phase()).isEqualTo(VpnPeerPhase.Active);
        assertThat(d.get("b").phase()).isEqualTo(VpnPeerPhase.Pending);
        assertThat(d.get("b").reason()).isEqualTo("KeyMismatch");
        assertThat(d.get("c").phase()).isEqualTo(VpnPeerPhase.Pending);
        assertThat(d.get("c").reason()).isEqualTo("NotInAllowList");
    }

    @Test
    void oldestPeerWinsADuplicateNodeId() {
        var net = Fixtures.devNetwork(new DevAllowList.AllowedNode("node-a", KEY_A));
        var d = resolver.resolve(net, List.of(
                Fixtures.peer("young", "node-a", KEY_A, "2026-01-02T00:00:00Z"),
                Fixtures.peer("old", "node-a", KEY_A, "2026-01-01T00:00:00Z")));
        assertThat(d.get("old").phase()).isEqualTo(VpnPeerPhase.Active);
        assertThat(d.get("young").phase()).isEqualTo(VpnPeerPhase.Denied);
        assertThat(d.get("young").message()).contains("already used by VpnPeer old");
    }

    /**
     * VpnPeerReconciler resolves only the peers that share a node id with the one it reconciles (not the whole
     * network): the decision must be the same as from the whole network.
     */
    @Test
    void aPeersDecisionDependsOnlyOnPeersWithItsNodeId() {
        var net = Fixtures.devNetwork(new DevAllowList.AllowedNode("node-a", KEY_A), new DevAllowList.AllowedNode("node-b", KEY_B));
        var all = List.of(
                Fixtures.peer("a-young", "node-a", KEY_A, "2026-01-03T00:00:00Z"),
                Fixtures.peer("b", "node-b", KEY_B, "2026-01-01T00:00:00Z"),
                Fixtures.peer("a-old", "node-a", KEY_A, "2026-01-02T00:00:00Z"),
                Fixtures.peer("a-wrong-key", "node-a", KEY_B, "2026-01-01T00:00:00Z"),
                Fixtures.peer("c", "node-c", KEY_A, "2026-01-01T00:00:00Z"));
        var whole = resolver.resolve(net, all);
        for (var p : all) {
            var sameNodeId = all.stream().filter(o -> o.getSpec().nodeId.equals(p.getSpec().nodeId)).toList();
            var alone = resolver.resolve(net, sameNodeId).get(p.getMetadata().getName());
            assertThat(alone).as(p.getMetadata().getName()).isEqualTo(whole.get(p.getMetadata().getName()));
        }
        assertThat(whole.get("a-young").reason()).isEqualTo("DuplicateNodeId");
    }

    @Test
    void chainSourceFailsClosedUntilSynced() {
        var net = Fixtures.devNetwork();
        net.getSpec().access.devAllowList = null;
        net.getSpec().access.chain = new ChainAccess();
        var d = resolver.resolve(net, List.of(Fixtures.peer("a", "node-a", KEY_A, "2026-01-01T00:00:00Z")));
        assertThat(d.get("a").admitted()).isFalse();
        assertThat(d.get("a").reason()).isEqualTo("ChainNotSynced");
    }
}
