package io.dstack.vpn.operator.network;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetIndex;
import io.dstack.vpn.api.peerset.PeerSetShards;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.operator.RecordedWrites.StatusWrite;
import io.dstack.vpn.operator.peerset.PeerSetSharder;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;

/**
 * The network reconciler's orchestration in the test JVM (mocked JOSDK Context, {@link NetworkReconcilerHarness}):
 * which objects a pass writes, in which order, and the status it returns. OperatorIT covers the same against a real
 * API server; the planning itself is {@link NetworkPlannerTest}'s.
 */
class VpnNetworkReconcilerTest {
    /** Every shard over its target size: the shard count doubles up to this maximum, 4 (8 peers spread over them). */
    static final PeerSetSharder.Limits FOUR_SHARDS = new PeerSetSharder.Limits(1, 900 * 1024, 4);

    final NetworkReconcilerHarness h = new NetworkReconcilerHarness();

    @Test
    void theFirstPassWritesTheShardThenTheIndexThenTheAddressesAndReportsReady() {
        h.peers("a", "b");

        UpdateControl<VpnNetwork> control = h.reconcile();

        assertThat(h.applied).containsExactly("net-peerset-0-of-1", "net-peerset");
        assertThat(h.deleted).isEmpty();
        assertThat(h.statuses.writes).containsExactlyInAnyOrder(
                new StatusWrite("a", VpnLabels.FIELD_MANAGER_IPAM, Map.of("address", "10.0.0.1")),
                new StatusWrite("b", VpnLabels.FIELD_MANAGER_IPAM, Map.of("address", "10.0.0.2")));
        PeerSet set = h.storedSet().whole();
        assertThat(set.generation()).isEqualTo(1);
        assertThat(set.peers()).extracting(PeerSet.Peer::nodeId, PeerSet.Peer::address)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("node-a", "10.0.0.1"), org.assertj.core.groups.Tuple.tuple("node-b", "10.0.0.2"));
        ConfigMap index = h.configMaps.get("net-peerset");
        assertThat(index.getMetadata().getOwnerReferences()).singleElement()
                .satisfies(o -> assertThat(o.getUid()).isEqualTo(NetworkReconcilerHarness.UID));

        assertThat(control.isPatchStatus()).isTrue();
        assertThat(control.getResource().orElseThrow().getMetadata().getResourceVersion()).isNull(); // no optimistic lock
        var status = h.network.getStatus();
        assertThat(condition(Conditions.READY)).extracting(Condition::getStatus, Condition::getReason)
                .containsExactly("True", "PeerSetRendered");
        assertThat(condition(Conditions.SPEC_VALID).getStatus()).isEqualTo("True");
        assertThat(status.observedGeneration).isEqualTo(1L);
        assertThat(status.peerSet.configMap).isEqualTo("net-peerset");
        assertThat(status.peerSet.generation).isEqualTo(1L);
        assertThat(status.peerSet.peers).isEqualTo(2);
        assertThat(status.peerSet.shards).isEqualTo(1);
        assertThat(status.peers.active).isEqualTo(2);
        assertThat(status.addresses.allocated).isEqualTo(2);
        assertThat(h.events.recorded).containsExactly("Normal PeerAdded", "Normal PeerAdded");
    }

    @Test
    void aSecondPassOverItsOwnWritesWritesNothing() {
        h.peers("a", "b", "c").reconcile();
        Map<String, ConfigMap> before = Map.copyOf(h.configMaps);
        h.events.recorded.clear();

        UpdateControl<VpnNetwork> control = h.reconcile();

        assertThat(control.isNoUpdate()).isTrue();
        assertThat(h.applied).isEmpty();
        assertThat(h.deleted).isEmpty();
        assertThat(h.statuses.writes).isEmpty();
        assertThat(h.events.recorded).isEmpty();
        assertThat(h.configMaps).isEqualTo(before);
    }

    /** Denied is for good (ADR 0003): the peer's address is released, in its own shard's record and its status. */
    @ParameterizedTest(name = "{0}: address released {1}")
    @CsvSource({"Revoked, false", "Suspended, false", "Pending, false", "Denied, true"})
    void aPeerThatLosesAccessLeavesItsShardAndNoOtherShardIsWritten(VpnPeerPhase phase, boolean releasesAddress) {
        h.shardLimits(FOUR_SHARDS).peers("a", "b", "c", "d", "e", "f", "g", "h").reconcile();
        assertThat(h.applied).hasSize(5); // four shards and the index
        Map<String, ConfigMap> before = Map.copyOf(h.configMaps);
        String shardOfC = PeerSetShards.shardName("net", PeerSetShards.shardOf("node-c", 4), 4);

        h.access.phase("node-c", phase);
        h.reconcile();

        assertThat(h.applied).containsExactly(shardOfC, "net-peerset");
        assertThat(h.deleted).isEmpty();
        assertThat(h.statuses.writes).isEqualTo(releasesAddress
                ? List.of(new StatusWrite("c", VpnLabels.FIELD_MANAGER_IPAM, Map.of()))
                : List.of());
        assertThat(h.storedSet().allocations()).hasSize(releasesAddress ? 7 : 8);
        before.forEach((name, cm) -> {
            if (!name.equals(shardOfC) && !name.equals("net-peerset")) {
                assertThat(h.configMaps.get(name)).as(name).isSameAs(cm);
            }
        });
        PeerSet set = h.storedSet().whole();
        assertThat(set.generation()).isEqualTo(2);
        assertThat(set.peers()).extracting(PeerSet.Peer::nodeId)
                .containsExactly("node-a", "node-b", "node-d", "node-e", "node-f", "node-g", "node-h");
        Map<String, Long> shardGenerations = h.storedSet().index().shards().stream()
                .collect(Collectors.toMap(PeerSetIndex.ShardRef::name, PeerSetIndex.ShardRef::generation));
        shardGenerations.forEach((name, generation) -> assertThat(generation).as(name).isEqualTo(name.equals(shardOfC) ? 2L : 1L));
        assertThat(h.network.getStatus().peers.active).isEqualTo(7);
        assertThat(h.events.recorded).endsWith("Normal PeerRemoved");
    }

    @ParameterizedTest
    @ValueSource(strings = {"10.0.0.0/33", "not-a-cidr", "300.0.0.0/24"})
    void anInvalidCidrIsReportedWithoutAnyWrite(String cidr) {
        h.peers("a");
        h.network.getSpec().cidr = cidr;

        UpdateControl<VpnNetwork> control = h.reconcile();

        assertThat(control.isPatchStatus()).isTrue();
        assertThat(condition(Conditions.SPEC_VALID)).extracting(Condition::getStatus, Condition::getReason)
                .containsExactly("False", "InvalidCidr");
        assertThat(condition(Conditions.READY)).extracting(Condition::getStatus, Condition::getReason)
                .containsExactly("False", "InvalidSpec");
        assertThat(h.applied).isEmpty();
        assertThat(h.deleted).isEmpty();
        assertThat(h.statuses.writes).isEmpty();
        assertThat(h.configMaps).isEmpty();
        // The same invalid spec again: the status already says so.
        assertThat(h.reconcile().isNoUpdate()).isTrue();
    }

    @Test
    void aFailedPassTurnsReadyFalseOnceAndKeepsTheRest() {
        h.peers("a").reconcile();
        Exception boom = new IllegalStateException("API server unavailable");

        ErrorStatusUpdateControl<VpnNetwork> first = h.failed(boom);

        assertThat(first.getResource()).isPresent();
        assertThat(first.getResource().get().getMetadata().getResourceVersion()).isNull();
        Condition ready = condition(Conditions.READY);
        assertThat(ready.getStatus()).isEqualTo("False");
        assertThat(ready.getReason()).isEqualTo("ReconcileFailed");
        assertThat(ready.getMessage()).contains("API server unavailable");
        assertThat(condition(Conditions.PEER_SET_RENDERED).getStatus()).isEqualTo("True"); // the set in force is kept
        assertThat(h.network.getStatus().peerSet.generation).isEqualTo(1L);

        ErrorStatusUpdateControl<VpnNetwork> again = h.failed(boom);

        assertThat(again.getResource()).isEmpty(); // noStatusUpdate: the status already says so
        assertThat(again.isDefaultErrorProcessing()).isFalse();
    }

    @Test
    void objectsOfAnOlderLayoutAreDeletedOnlyWhenTheNetworkOwnsThem() {
        h.peers("a").reconcile();
        h.stored(NetworkReconcilerHarness.labelled("net-peerset-0-of-2", NetworkReconcilerHarness.UID))
                .stored(NetworkReconcilerHarness.labelled("net-peerset-1-of-2", "uid-of-someone-else"))
                .stored(NetworkReconcilerHarness.labelled("net-peerset-0-of-4", null));

        h.reconcile();

        assertThat(h.deleted).containsExactly("net-peerset-0-of-2");
        assertThat(h.applied).isEmpty();
        assertThat(h.configMaps).containsOnlyKeys("net-peerset", "net-peerset-0-of-1", "net-peerset-1-of-2", "net-peerset-0-of-4");
    }

    private Condition condition(String type) {
        List<Condition> conditions = h.network.getStatus().conditions;
        return conditions.stream().filter(c -> c.getType().equals(type)).findFirst()
                .orElseThrow(() -> new AssertionError("no condition " + type + " in " + conditions));
    }
}
