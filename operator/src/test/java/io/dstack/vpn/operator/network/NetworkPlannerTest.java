package io.dstack.vpn.operator.network;

import static io.dstack.vpn.api.v1alpha1.VpnPeerPhase.Active;
import static io.dstack.vpn.api.v1alpha1.VpnPeerPhase.Denied;
import static io.dstack.vpn.api.v1alpha1.VpnPeerPhase.Pending;
import static io.dstack.vpn.api.v1alpha1.VpnPeerPhase.Revoked;
import static io.dstack.vpn.operator.network.NetworkScenario.network;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.operator.Fixtures;
import io.dstack.vpn.operator.ipam.Ipv4Cidr;
import io.dstack.vpn.operator.peerset.PeerSetLayout;
import io.dstack.vpn.operator.peerset.PeerSetSharder;

/** Table tests after Kilo's topology_test.go: each row is what the reconciler observed and the plan it must get. */
class NetworkPlannerTest {
    static final String A = Fixtures.KEY_A;
    static final String B = Fixtures.KEY_B;
    /** Enough peers (about 146 bytes each) to pass {@link #TINY} even in its largest layout. */
    static final int TOO_MANY = 40;
    /** Objects of at most 2 KiB in at most two shards: a few dozen peers are too many. */
    static final PeerSetSharder.Limits TINY = new PeerSetSharder.Limits(1024, 2048, 2);

    /** The parts of a plan a row compares; a row names only what it expects to be non-empty. */
    record Outcome(long generation, List<String> nodes, Map<String, String> assigned, List<String> exhausted,
            Map<String, String> addressWrites, Set<String> added, Set<String> removed, Map<String, String> rotatedKeys,
            boolean fits) {

        static Outcome of(NetworkPlan plan) {
            return new Outcome(plan.peerSet().generation(), plan.peerSet().peers().stream().map(PeerSet.Peer::nodeId).toList(),
                    plan.addresses().assigned(), plan.addresses().exhausted(), plan.addressWrites(), plan.changes().added(),
                    plan.changes().removed(), plan.changes().rotatedKeys(), plan.fits());
        }

        static Outcome generation(long g) {
            return new Outcome(g, List.of(), Map.of(), List.of(), Map.of(), Set.of(), Set.of(), Map.of(), true);
        }

        Outcome nodes(String... n) {
            return new Outcome(generation, List.of(n), assigned, exhausted, addressWrites, added, removed, rotatedKeys, fits);
        }

        Outcome assigned(String... nameAddress) {
            return assigned(pairs(nameAddress));
        }

        Outcome assigned(Map<String, String> a) {
            return new Outcome(generation, nodes, a, exhausted, addressWrites, added, removed, rotatedKeys, fits);
        }

        Outcome exhausted(String... e) {
            return new Outcome(generation, nodes, assigned, List.of(e), addressWrites, added, removed, rotatedKeys, fits);
        }

        /** A null address: the write removes the peer's {@code status.address}. */
        Outcome writes(String... nameAddress) {
            return new Outcome(generation, nodes, assigned, exhausted, pairs(nameAddress), added, removed, rotatedKeys, fits);
        }

        Outcome added(String... a) {
            return new Outcome(generation, nodes, assigned, exhausted, addressWrites, Set.of(a), removed, rotatedKeys, fits);
        }

        Outcome removed(String... r) {
            return new Outcome(generation, nodes, assigned, exhausted, addressWrites, added, Set.of(r), rotatedKeys, fits);
        }

        Outcome rotated(String... nodeKey) {
            return new Outcome(generation, nodes, assigned, exhausted, addressWrites, added, removed, pairs(nodeKey), fits);
        }

        Outcome tooLarge() {
            return new Outcome(generation, nodes, assigned, exhausted, addressWrites, added, removed, rotatedKeys, false);
        }
    }

    record Case(String name, NetworkScenario given, Outcome want) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case("first render: admitted peers get the lowest free addresses and join generation 1",
                        network("10.0.0.0/24").peer("a", A, Active, null).peer("b", B, Active, null),
                        Outcome.generation(1).nodes("node-a", "node-b").assigned("a", "10.0.0.1", "b", "10.0.0.2")
                                .writes("a", "10.0.0.1", "b", "10.0.0.2").added("node-a", "node-b")),
                new Case("nothing changed: the same generation, no writes, nothing announced",
                        network("10.0.0.0/24").peer("a", A, Active, "10.0.0.1").peer("b", B, Active, "10.0.0.2").stored(4),
                        Outcome.generation(4).nodes("node-a", "node-b").assigned("a", "10.0.0.1", "b", "10.0.0.2")),
                new Case("a peer added: it gets the next address, the generation moves by one",
                        network("10.0.0.0/24").peer("a", A, Active, "10.0.0.1").stored(4).peer("b", B, Active, null),
                        Outcome.generation(5).nodes("node-a", "node-b").assigned("a", "10.0.0.1", "b", "10.0.0.2")
                                .writes("b", "10.0.0.2").added("node-b")),
                new Case("a peer removed frees its address for the next newcomer",
                        network("10.0.0.0/24").peer("a", A, Active, "10.0.0.1").peer("b", B, Active, "10.0.0.2").stored(4)
                                .removed("b").peer("c", B, Active, null),
                        Outcome.generation(5).nodes("node-a", "node-c").assigned("a", "10.0.0.1", "c", "10.0.0.2")
                                .writes("c", "10.0.0.2").added("node-c").removed("node-b")),
                new Case("a revoked peer leaves the set but keeps its address for a re-grant",
                        network("10.0.0.0/24").peer("a", A, Active, "10.0.0.1").peer("b", B, Active, "10.0.0.2").stored(4)
                                .phase("b", Revoked),
                        Outcome.generation(5).nodes("node-a").assigned("a", "10.0.0.1", "b", "10.0.0.2").removed("node-b")),
                new Case("a denied peer loses its address",
                        network("10.0.0.0/24").peer("a", A, Active, "10.0.0.1").peer("b", B, Active, "10.0.0.2").stored(4)
                                .phase("b", Denied),
                        Outcome.generation(5).nodes("node-a").assigned("a", "10.0.0.1").writes("b", null).removed("node-b")),
                new Case("a peer not admitted that never held an address gets none",
                        network("10.0.0.0/24").peer("a", A, Active, "10.0.0.1").stored(4).peer("b", B, Pending, null),
                        Outcome.generation(4).nodes("node-a").assigned("a", "10.0.0.1")),
                new Case("key rotation: a new generation that names the node's new key",
                        network("10.0.0.0/24").peer("a", A, Active, "10.0.0.1").stored(4).key("a", B),
                        Outcome.generation(5).nodes("node-a").assigned("a", "10.0.0.1").rotated("node-a", B)),
                new Case("an outside peer is addressed under its token key and rendered",
                        network("10.0.0.0/24").peer("a", A, Active, "10.0.0.1").stored(4).outside("node-o", B),
                        Outcome.generation(5).nodes("node-a", "node-o").assigned("a", "10.0.0.1", "token/node-o", "10.0.0.2")
                                .added("node-o")),
                new Case("outside peers never displace a VpnPeer: a full pool leaves the outside peer out",
                        network("10.0.0.0/30").outside("node-o", B).peer("a", A, Active, null).peer("b", B, Active, null),
                        Outcome.generation(1).nodes("node-a", "node-b").assigned("a", "10.0.0.1", "b", "10.0.0.2")
                                .exhausted("token/node-o").writes("a", "10.0.0.1", "b", "10.0.0.2").added("node-a", "node-b")),
                new Case("address pool exhausted: the newcomer waits, the incumbents keep theirs, the set stays",
                        network("10.0.0.0/30").peer("a", A, Active, "10.0.0.1").peer("b", B, Active, "10.0.0.2").stored(2)
                                .peer("c", A, Active, null),
                        Outcome.generation(2).nodes("node-a", "node-b").assigned("a", "10.0.0.1", "b", "10.0.0.2").exhausted("c")),
                new Case("a peer set over the size limit keeps the stored set and writes nothing",
                        network("10.0.0.0/16").peer("a", A, Active, "10.0.0.1").stored(3).manyPeers(TOO_MANY).limits(TINY),
                        Outcome.generation(3).nodes("node-a").assigned(withMany("a", "10.0.0.1")).tooLarge()),
                new Case("a peer set over the size limit with none stored is in force at generation 0, unwritten",
                        network("10.0.0.0/16").manyPeers(TOO_MANY).limits(TINY),
                        Outcome.generation(0).nodes(manyNodes()).assigned(withMany()).tooLarge()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void plans(Case c) {
        NetworkPlan plan = c.given().plan();
        assertThat(Outcome.of(plan)).isEqualTo(c.want());
        assertThat(plan.fits()).isEqualTo(plan.layout().largestObjectBytes() <= c.given().observed().limits().maxObjectBytes());
    }

    @Test
    void theObjectsHoldTheRenderedSetAndTheAllocationsAndTheirSizeIsCounted() {
        NetworkPlan plan = network("10.0.0.0/24").peer("a", A, Active, null).peer("b", B, Revoked, null).plan();
        PeerSetLayout layout = plan.layout();
        assertThat(layout.shards()).hasSize(1);
        PeerSetLayout.Shard shard = layout.shards().get(0);
        assertThat(shard.name()).isEqualTo("net-peerset-0-of-1");
        assertThat(PeerSetCodec.decodeShard(shard.peersJson()).peers()).isEqualTo(plan.peerSet().peers());
        assertThat(PeerSetCodec.decodeIndex(layout.indexJson()).withPeers(plan.peerSet().peers())).isEqualTo(plan.peerSet());
        assertThat(PeerSetCodec.decodeAllocations(shard.allocationsJson())).isEqualTo(Map.of("a", "10.0.0.1"));
        assertThat(plan.bytes()).isEqualTo(layout.indexJson().length() + shard.peersJson().length() + shard.allocationsJson().length());
        assertThat(plan.cidr()).isEqualTo(Ipv4Cidr.parse("10.0.0.0/24"));
    }

    @Test
    void aNetworkPastOneShardsTargetIsSpreadOverMoreShardsAndStillFits() {
        NetworkPlan plan = network("10.0.0.0/16").manyPeers(TOO_MANY).limits(new PeerSetSharder.Limits(1024, 2048, 16)).plan();
        assertThat(plan.fits()).isTrue();
        assertThat(plan.layout().shards().size()).isGreaterThan(2);
        assertThat(plan.layout().shards()).allSatisfy(s -> assertThat(s.bytes()).isLessThanOrEqualTo(1024));
        assertThat(plan.layout().shards().stream().mapToInt(s -> s.shard().peers().size()).sum()).isEqualTo(TOO_MANY);
    }

    @Test
    void countsMembersByPhaseAndConvergenceOfTheGenerationInForce() {
        NetworkPlan plan = network("10.0.0.0/24")
                .peer("a", A, Active, "10.0.0.1").peer("b", B, Active, "10.0.0.2").peer("c", A, Active, "10.0.0.3")
                .peer("d", B, Revoked, null).peer("e", A, Pending, null).stored(6)
                .applied("a", 6).applied("b", 5).applied("d", 6).outside("node-o", B)
                .plan();
        assertThat(plan.peerSet().generation()).isEqualTo(7); // node-o joined
        assertThat(plan.peers().total()).isEqualTo(5);
        assertThat(plan.peers().of(Active)).isEqualTo(3);
        assertThat(plan.peers().of(Revoked)).isEqualTo(1);
        assertThat(plan.peers().of(Pending)).isEqualTo(1);
        assertThat(plan.peers().of(VpnPeerPhase.Suspended)).isZero();
        assertThat(plan.peers().outside()).isEqualTo(1);
        // Only admitted VpnPeers run an agent; none has applied generation 7 yet.
        assertThat(plan.convergence()).isEqualTo(new NetworkPlan.Convergence(7, 0, 3));

        NetworkPlan steady = network("10.0.0.0/24").peer("a", A, Active, "10.0.0.1").peer("b", B, Active, "10.0.0.2").stored(6)
                .applied("a", 6).applied("b", 5).plan();
        assertThat(steady.convergence()).isEqualTo(new NetworkPlan.Convergence(6, 1, 2));
    }

    /** Peer name to address, in order, with null values allowed (a write that removes the address). */
    private static Map<String, String> pairs(String... kv) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    /** What {@code manyPeers(TOO_MANY)} are assigned after the given incumbents: the lowest free addresses in order. */
    private static Map<String, String> withMany(String... incumbents) {
        Map<String, String> m = new TreeMap<>(pairs(incumbents));
        long next = Ipv4Cidr.parseAddress("10.0.0.1") + m.size();
        for (int i = 0; i < TOO_MANY; i++) {
            m.put(String.format("p%04d", i), Ipv4Cidr.format(next + i));
        }
        return m;
    }

    private static String[] manyNodes() {
        return IntStream.range(0, TOO_MANY).mapToObj(i -> String.format("node-p%04d", i)).toArray(String[]::new);
    }
}
