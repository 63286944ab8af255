package io.dstack.vpn.agent.dns;

import static io.dstack.vpn.agent.dns.DnsMessage.CLASS_IN;
import static io.dstack.vpn.agent.dns.DnsMessage.NOERROR;
import static io.dstack.vpn.agent.dns.DnsMessage.NXDOMAIN;
import static io.dstack.vpn.agent.dns.DnsMessage.REFUSED;
import static io.dstack.vpn.agent.dns.DnsMessage.SERVFAIL;
import static io.dstack.vpn.agent.dns.DnsMessage.TYPE_A;
import static io.dstack.vpn.agent.dns.DnsMessage.TYPE_AAAA;
import static io.dstack.vpn.agent.dns.DnsMessage.TYPE_ANY;
import static io.dstack.vpn.agent.dns.DnsMessage.TYPE_AXFR;
import static io.dstack.vpn.agent.dns.DnsMessage.TYPE_IXFR;
import static io.dstack.vpn.agent.dns.DnsMessage.TYPE_NS;
import static io.dstack.vpn.agent.dns.DnsMessage.TYPE_SOA;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.dstack.vpn.agent.dns.DnsMessage.ARecord;
import io.dstack.vpn.agent.dns.DnsMessage.SoaRecord;
import io.dstack.vpn.api.peerset.PeerSet;

/** Name to answer, for one peer set: the table of every kind of question. */
class DnsZoneTest {
    static final List<String> ORIGIN = List.of("mesh", "vpn", "internal");

    static PeerSet.Peer peer(String nodeId, String address) {
        return new PeerSet.Peer(nodeId, "key-" + nodeId, address, "192.0.2.1:51820", "UDP", null);
    }

    static PeerSet set(long generation, PeerSet.Peer... peers) {
        return new PeerSet("mesh", generation, "10.66.0.0/24", 51820, 1420, "Mesh", null, null, List.of(peers));
    }

    static final PeerSet SET = set(42, peer("node-a", "10.66.0.1"), peer("node-b", "10.66.0.2"), peer("node-c", "not-an-address"));
    static final DnsZone ZONE = DnsZone.of(ORIGIN, SET, 5);

    static List<String> name(String dotted) {
        return dotted.isEmpty() ? List.of() : Arrays.asList(dotted.split("\\."));
    }

    /** name, type, rcode, answer (A address, "SOA", or "" for none), SOA in authority. */
    static Stream<Arguments> table() {
        return Stream.of(
                Arguments.of("node-a.mesh.vpn.internal", TYPE_A, NOERROR, "10.66.0.1", false),
                Arguments.of("node-b.mesh.vpn.internal", TYPE_A, NOERROR, "10.66.0.2", false),
                Arguments.of("node-a.mesh.vpn.internal", TYPE_ANY, NOERROR, "10.66.0.1", false),
                Arguments.of("node-a.mesh.vpn.internal", TYPE_AAAA, NOERROR, "", true), // the name exists, no IPv6
                Arguments.of("node-a.mesh.vpn.internal", TYPE_NS, NOERROR, "", true),
                Arguments.of("ghost.mesh.vpn.internal", TYPE_A, NXDOMAIN, "", true),
                Arguments.of("ghost.mesh.vpn.internal", TYPE_AAAA, NXDOMAIN, "", true),
                Arguments.of("node-c.mesh.vpn.internal", TYPE_A, NXDOMAIN, "", true), // no readable address: no name
                Arguments.of("www.node-a.mesh.vpn.internal", TYPE_A, NXDOMAIN, "", true),
                Arguments.of("mesh.vpn.internal", TYPE_A, NOERROR, "", true),
                Arguments.of("mesh.vpn.internal", TYPE_SOA, NOERROR, "SOA", false),
                Arguments.of("mesh.vpn.internal", TYPE_ANY, NOERROR, "SOA", false),
                Arguments.of("mesh.vpn.internal", TYPE_NS, NOERROR, "", true),
                Arguments.of("mesh.vpn.internal", TYPE_AXFR, REFUSED, "", false), // no listing of the members
                Arguments.of("mesh.vpn.internal", TYPE_IXFR, REFUSED, "", false),
                Arguments.of("node-a.other.vpn.internal", TYPE_A, REFUSED, "", false), // another network: not ours
                Arguments.of("vpn.internal", TYPE_A, REFUSED, "", false),
                Arguments.of("node-a.mesh.vpn.internal.evil.example", TYPE_A, REFUSED, "", false),
                Arguments.of("example.com", TYPE_A, REFUSED, "", false),
                Arguments.of("", TYPE_NS, REFUSED, "", false),
                Arguments.of("mesh.vpn", TYPE_A, REFUSED, "", false));
    }

    @ParameterizedTest(name = "{0} type {1} -> rcode {2} {3}")
    @MethodSource("table")
    void answers(String name, int type, int rcode, String answer, boolean soaInAuthority) {
        DnsZone.Answer a = ZONE.answer(name(name), type, CLASS_IN);
        assertThat(a.rcode()).isEqualTo(rcode);
        assertThat(a.authoritative()).as("authoritative exactly inside the zone").isEqualTo(rcode != REFUSED);
        if (answer.isEmpty()) {
            assertThat(a.answers()).isEmpty();
        } else if (answer.equals("SOA")) {
            assertThat(a.answers()).singleElement().isInstanceOf(SoaRecord.class);
        } else {
            assertThat(a.answers()).singleElement().isInstanceOfSatisfying(ARecord.class, r -> {
                assertThat(r.address()).isEqualTo(DnsZone.ipv4(answer));
                assertThat(r.ttl()).isEqualTo(5);
            });
        }
        if (soaInAuthority) {
            assertThat(a.authority()).singleElement().isEqualTo(new SoaRecord(3, 42, 5, 5));
        } else {
            assertThat(a.authority()).isEmpty();
        }
    }

    @Test
    void otherClassesAreRefused() {
        assertThat(ZONE.answer(name("node-a.mesh.vpn.internal"), TYPE_A, 3 /* CHAOS */).rcode()).isEqualTo(REFUSED);
        assertThat(ZONE.answer(name("node-a.mesh.vpn.internal"), TYPE_A, 255 /* ANY */).rcode()).isEqualTo(REFUSED);
    }

    @Test
    void beforeTheFirstPeerSetNamesInTheZoneFailAndOthersAreRefused() {
        DnsZone empty = DnsZone.of(ORIGIN, null, 5);
        assertThat(empty.answer(name("node-a.mesh.vpn.internal"), TYPE_A, CLASS_IN).rcode()).isEqualTo(SERVFAIL);
        assertThat(empty.answer(name("example.com"), TYPE_A, CLASS_IN).rcode()).isEqualTo(REFUSED);
        assertThat(empty.cidr()).isNull();
    }

    @Test
    void aRevokedNodeIsGoneInTheNextSetAndTheSerialFollowsTheGeneration() {
        DnsZone after = DnsZone.of(ORIGIN, set(43, peer("node-a", "10.66.0.1")), 5);
        assertThat(after.answer(name("node-b.mesh.vpn.internal"), TYPE_A, CLASS_IN).rcode()).isEqualTo(NXDOMAIN);
        assertThat(after.answer(name("node-b.mesh.vpn.internal"), TYPE_A, CLASS_IN).authority())
                .containsExactly(new SoaRecord(3, 43, 5, 5));
        assertThat(after.size()).isEqualTo(1);
        // 32-bit serial: a generation past 2^32 wraps rather than failing.
        assertThat(DnsZone.of(ORIGIN, set((1L << 32) + 7, peer("node-a", "10.66.0.1")), 5)
                .answer(name("mesh.vpn.internal"), TYPE_SOA, CLASS_IN).answers()).containsExactly(new SoaRecord(3, 7, 5, 5));
    }

    @Test
    void ipv4ParsingRefusesWhatIsNotADottedQuad() {
        assertThat(DnsZone.ipv4("10.66.0.255")).containsExactly(10, 66, 0, (byte) 255);
        for (String bad : new String[] {null, "", "10.66.0", "10.66.0.1.2", "10.66.0.256", "10.66.0.-1", "10.66.0.1/32", "fd00::1",
            "10.66..1", "1000.1.1.1", "a.b.c.d", "10.66.0.1 "}) {
            assertThat(DnsZone.ipv4(bad)).as(String.valueOf(bad)).isNull();
        }
    }
}
