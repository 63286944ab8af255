package io.dstack.vpn.operator.network;

import static io.dstack.vpn.api.v1alpha1.VpnPeerPhase.Active;
import static io.dstack.vpn.api.v1alpha1.VpnPeerPhase.Revoked;
import static io.dstack.vpn.operator.network.NetworkScenario.network;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.v1alpha1.ChainAccess;
import io.dstack.vpn.api.v1alpha1.VpnNetworkStatus;
import io.dstack.vpn.operator.Fixtures;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;

/** Which fields and conditions each kind of pass keeps from the old status, and how Ready is decided. */
class NetworkStatusAggregatorTest {
    static final Clock CLOCK = Clock.fixed(Instant.parse("2026-02-01T00:00:00Z"), ZoneOffset.UTC);
    static final String A = Fixtures.KEY_A;
    static final String B = Fixtures.KEY_B;

    /** The status fields besides conditions and observedGeneration, by name. */
    static final Map<String, Function<VpnNetworkStatus, Object>> FIELDS = fields();

    /** @param conditions the conditions the pass sets, in order; @param carried those it keeps from the old status, after them */
    record Pass(String name, Function<NetworkStatusAggregator, VpnNetworkStatus> run, Set<String> kept, List<String> conditions,
            List<String> carried) {
        @Override
        public String toString() {
            return name;
        }
    }

    static final VpnNetworkStatus.ChainPosition NEW_POSITION = new VpnNetworkStatus.ChainPosition();

    static Stream<Pass> passes() {
        Set<String> all = FIELDS.keySet();
        return Stream.of(
                new Pass("invalidCidr keeps every field and carries the conditions that describe them",
                        s -> s.invalidCidr("not a CIDR"), all,
                        List.of(Conditions.SPEC_VALID, Conditions.READY),
                        List.of(Conditions.PEER_SET_RENDERED, Conditions.ADDRESS_POOL_AVAILABLE, Conditions.CHAIN_SYNCED,
                                Conditions.CHAIN_REACHABLE, Conditions.CHAIN_DATA_VALID)),
                new Pass("rpcConfigInvalid keeps every field; sets ChainSynced and carries the chain's other conditions",
                        s -> {
                            s.specValid();
                            return s.rpcConfigInvalid("bad RPC settings");
                        }, all,
                        List.of(Conditions.SPEC_VALID, Conditions.CHAIN_SYNCED, Conditions.READY),
                        List.of(Conditions.PEER_SET_RENDERED, Conditions.ADDRESS_POOL_AVAILABLE, Conditions.CHAIN_REACHABLE,
                                Conditions.CHAIN_DATA_VALID)),
                new Pass("waitingForChain keeps all but the chain position, which is this pass's; carries PeerSetRendered",
                        s -> {
                            s.specValid();
                            s.conditions().set(Conditions.CHAIN_SYNCED, false, "Syncing", "first sync")
                                    .set(Conditions.CHAIN_REACHABLE, true, "RpcAvailable", "ok");
                            return s.waitingForChain(NEW_POSITION);
                        }, Set.of("peers", "addresses", "peerSet", "convergence"),
                        List.of(Conditions.SPEC_VALID, Conditions.CHAIN_SYNCED, Conditions.CHAIN_REACHABLE, Conditions.READY),
                        List.of(Conditions.PEER_SET_RENDERED, Conditions.ADDRESS_POOL_AVAILABLE)),
                new Pass("reconcileFailed keeps every field and condition; only Ready says the reconcile failed",
                        s -> s.reconcileFailed(new IllegalStateException("the API server said 500")), all,
                        List.of(Conditions.READY),
                        List.of(Conditions.SPEC_VALID, Conditions.PEER_SET_RENDERED, Conditions.ADDRESS_POOL_AVAILABLE,
                                Conditions.CHAIN_SYNCED, Conditions.CHAIN_REACHABLE, Conditions.CHAIN_DATA_VALID)),
                new Pass("planned keeps nothing",
                        s -> {
                            s.specValid();
                            return s.planned(network("10.0.0.0/24").peer("a", A, Active, null).plan(), NEW_POSITION);
                        }, Set.of(),
                        List.of(Conditions.SPEC_VALID, Conditions.PEER_SET_RENDERED, Conditions.ADDRESS_POOL_AVAILABLE, Conditions.READY),
                        List.of()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("passes")
    void keepsOnPurpose(Pass pass) {
        var net = Fixtures.devNetwork();
        net.getMetadata().setGeneration(2L);
        VpnNetworkStatus old = fullStatus();
        net.setStatus(old);

        VpnNetworkStatus s = pass.run().apply(new NetworkStatusAggregator(net, CLOCK));

        FIELDS.forEach((field, get) -> {
            if (pass.kept().contains(field)) {
                assertThat(get.apply(s)).as(field).isNotNull().isSameAs(get.apply(old));
            } else {
                assertThat(get.apply(s)).as(field).isNotSameAs(get.apply(old));
            }
        });
        List<String> expected = new ArrayList<>(pass.conditions());
        expected.addAll(pass.carried());
        assertThat(s.conditions).extracting(Condition::getType).containsExactlyElementsOf(expected);
        // set in this pass: this generation; carried: exactly as they were (generation 1, the old reason)
        assertThat(s.conditions).allSatisfy(c -> assertThat(c.getObservedGeneration())
                .isEqualTo(pass.carried().contains(c.getType()) ? 1L : 2L));
        assertThat(s.conditions).filteredOn(c -> pass.carried().contains(c.getType()))
                .allSatisfy(c -> assertThat(c.getReason()).isEqualTo("Old"));
        assertThat(s.observedGeneration).isEqualTo(2L);
    }

    @Test
    void aFailedReconcileNamesTheErrorInReady() {
        var net = Fixtures.devNetwork();
        VpnNetworkStatus s = new NetworkStatusAggregator(net, CLOCK).reconcileFailed(new IllegalStateException("the API server said 500"));
        assertThat(s.conditions).singleElement().satisfies(c -> {
            assertThat(c.getStatus()).isEqualTo("False");
            assertThat(c.getReason()).isEqualTo("ReconcileFailed");
            assertThat(c.getMessage()).isEqualTo("the last reconcile failed and is retried: IllegalStateException: the API server said 500");
        });
    }

    @Test
    void anEarlyEndWithoutAnOldStatusHasOnlyConditions() {
        var net = Fixtures.devNetwork();
        VpnNetworkStatus s = new NetworkStatusAggregator(net, CLOCK).invalidCidr("not a CIDR");
        FIELDS.forEach((field, get) -> assertThat(get.apply(s)).as(field).isNull());
        assertThat(s.observedGeneration).isZero();
        assertThat(s.conditions).extracting(Condition::getReason).containsExactly("InvalidCidr", "InvalidSpec");
    }

    /** @param chainSynced null without a chain source, else the ChainSynced status of this pass */
    record Ready(String name, NetworkScenario given, Boolean chainSynced, List<String> conditions, String readyMessage) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Ready> readiness() {
        return Stream.of(
                new Ready("rendered and every peer addressed: Ready",
                        network("10.0.0.0/24").peer("a", A, Active, null).peer("b", B, Revoked, null), null,
                        List.of("PeerSetRendered=True/Rendered", "AddressPoolAvailable=True/AddressesAvailable", "Ready=True/PeerSetRendered"),
                        "1 of 2 peers active; peer set generation 1"),
                new Ready("over the size limit: not rendered",
                        network("10.0.0.0/16").manyPeers(NetworkPlannerTest.TOO_MANY).limits(NetworkPlannerTest.TINY), null,
                        List.of("PeerSetRendered=False/PeerSetTooLarge", "AddressPoolAvailable=True/AddressesAvailable",
                                "Ready=False/PeerSetNotRendered"),
                        "the peer set could not be written; see condition PeerSetRendered"),
                new Ready("over the size limit and out of addresses: not rendered comes first",
                        network("10.0.0.0/27").manyPeers(NetworkPlannerTest.TOO_MANY).limits(NetworkPlannerTest.TINY), null,
                        List.of("PeerSetRendered=False/PeerSetTooLarge", "AddressPoolAvailable=False/AddressPoolExhausted",
                                "Ready=False/PeerSetNotRendered"),
                        "the peer set could not be written; see condition PeerSetRendered"),
                new Ready("pool exhausted: the peers without an address are named",
                        network("10.0.0.0/30").peer("a", A, Active, null).peer("b", B, Active, null).peer("c", A, Active, null), null,
                        List.of("PeerSetRendered=True/Rendered", "AddressPoolAvailable=False/AddressPoolExhausted",
                                "Ready=False/PeersWithoutAddress"),
                        "admitted peers without an address: c"),
                new Ready("a rejected static address: the peer and the reason are named",
                        network("10.0.0.0/24").peer("a", A, Active, null).peer("b", B, Active, null).requests("b", "10.1.0.1"), null,
                        List.of("PeerSetRendered=True/Rendered", "AddressPoolAvailable=True/AddressesAvailable",
                                "Ready=False/PeersWithoutAddress"),
                        "admitted peers without an address: b (requested address 10.1.0.1 is outside the usable range of 10.0.0.0/24)"),
                new Ready("a chain source not synced",
                        network("10.0.0.0/24").peer("a", A, Active, null), false,
                        List.of("ChainSynced=False/Syncing", "PeerSetRendered=True/Rendered", "AddressPoolAvailable=True/AddressesAvailable",
                                "Ready=False/ChainNotSynced"),
                        "the chain source has trouble; see condition ChainSynced"),
                new Ready("a chain source synced",
                        network("10.0.0.0/24").peer("a", A, Active, null), true,
                        List.of("ChainSynced=True/Synced", "PeerSetRendered=True/Rendered", "AddressPoolAvailable=True/AddressesAvailable",
                                "Ready=True/PeerSetRendered"),
                        "1 of 1 peers active; peer set generation 1"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("readiness")
    void decidesReady(Ready c) {
        NetworkPlan plan = c.given().plan();
        NetworkStatusAggregator aggregator = new NetworkStatusAggregator(c.given().network, CLOCK);
        if (c.chainSynced() != null) {
            c.given().network.getSpec().access.chain = new ChainAccess();
            aggregator.conditions().set(Conditions.CHAIN_SYNCED, c.chainSynced(), c.chainSynced() ? "Synced" : "Syncing", "");
        }
        VpnNetworkStatus s = aggregator.planned(plan, null);
        assertThat(s.conditions).extracting(x -> x.getType() + "=" + x.getStatus() + "/" + x.getReason())
                .containsExactlyElementsOf(c.conditions());
        assertThat(s.conditions.get(s.conditions.size() - 1).getMessage()).isEqualTo(c.readyMessage());
    }

    @Test
    void aPlannedPassDescribesThePlan() {
        var given = network("10.0.0.0/30").peer("a", A, Active, "10.0.0.1").peer("b", B, Revoked, null).stored(3)
                .applied("a", 3).peer("c", B, Active, null).peer("d", A, Active, null).outside("node-o", B);
        NetworkPlan plan = given.plan();
        VpnNetworkStatus.ChainPosition position = new VpnNetworkStatus.ChainPosition();

        VpnNetworkStatus s = new NetworkStatusAggregator(given.network, CLOCK).planned(plan, position);

        assertThat(s.peers.total).isEqualTo(4);
        assertThat(s.peers.active).isEqualTo(3);
        assertThat(s.peers.revoked).isEqualTo(1);
        assertThat(s.peers.outside).isEqualTo(1);
        assertThat(s.addresses.capacity).isEqualTo(2);
        assertThat(s.addresses.allocated).isEqualTo(2);
        assertThat(s.peerSet.configMap).isEqualTo("net-peerset");
        assertThat(s.peerSet.generation).isEqualTo(4);
        assertThat(s.peerSet.peers).isEqualTo(2);
        assertThat(s.peerSet.bytes).isEqualTo(plan.bytes());
        assertThat(s.convergence.generation).isEqualTo(4);
        assertThat(s.convergence.nodesApplied).isZero();
        assertThat(s.convergence.nodesTotal).isEqualTo(3);
        assertThat(s.chain).isSameAs(position);
        assertThat(s.conditions).extracting(Condition::getMessage).containsExactly(
                "peer set generation 4 with 2 peers",
                "address pool 10.0.0.0/30 is exhausted (2 addresses); waiting for an address: d, token/node-o",
                "admitted peers without an address: d; token/node-o");
        assertThat(s.conditions).allSatisfy(c -> assertThat(c.getLastTransitionTime()).isEqualTo("2026-02-01T00:00:00Z"));
        assertThat(NetworkStatusAggregator.poolExhausted(plan)).isEqualTo(s.conditions.get(1).getMessage());
    }

    @Test
    void noOutsidePeersLeavesTheirCountOut() {
        VpnNetworkStatus s = new NetworkStatusAggregator(Fixtures.devNetwork(), CLOCK)
                .planned(network("10.0.0.0/24").peer("a", A, Active, null).plan(), null);
        assertThat(s.peers.outside).isNull();
        assertThat(s.chain).isNull();
    }

    private static VpnNetworkStatus fullStatus() {
        VpnNetworkStatus old = new VpnNetworkStatus();
        old.observedGeneration = 1L;
        old.peers = new VpnNetworkStatus.PeerCounts();
        old.addresses = new VpnNetworkStatus.AddressUsage();
        old.peerSet = new VpnNetworkStatus.PeerSetRef();
        old.peerSet.generation = 9L;
        old.convergence = new VpnNetworkStatus.Convergence();
        old.chain = new VpnNetworkStatus.ChainPosition();
        List<Condition> conditions = new ArrayList<>();
        for (String type : List.of(Conditions.SPEC_VALID, Conditions.CHAIN_SYNCED, Conditions.CHAIN_REACHABLE, Conditions.CHAIN_DATA_VALID,
                Conditions.PEER_SET_RENDERED, Conditions.ADDRESS_POOL_AVAILABLE, Conditions.READY)) {
            conditions.add(new ConditionBuilder().withType(type).withStatus("True").withReason("Old").withMessage("old")
                    .withObservedGeneration(1L).withLastTransitionTime("2026-01-01T00:00:00Z").build());
        }
        old.conditions = conditions;
        return old;
    }

    private static Map<String, Function<VpnNetworkStatus, Object>> fields() {
        Map<String, Function<VpnNetworkStatus, Object>> f = new LinkedHashMap<>();
        f.put("peers", s -> s.peers);
        f.put("addresses", s -> s.addresses);
        f.put("peerSet", s -> s.peerSet);
        f.put("convergence", s -> s.convergence);
        f.put("chain", s -> s.chain);
        return f;
    }
}
