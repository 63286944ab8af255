package io.dstack.vpn.agent.dns;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetIndex;
import io.dstack.vpn.api.peerset.StoredPeerSet;

/** Bytes in, bytes out: the zone follows the newest set at once, strangers get nothing, every outcome is counted. */
class DnsResponderTest {
    static final InetAddress POD = address("10.244.1.7");
    static final InetAddress SHARED_RANGE = address("100.66.0.2");
    static final InetAddress STRANGER = address("203.0.113.9");

    static InetAddress address(String s) {
        try {
            return InetAddress.getByName(s);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    static StoredPeerSet stored(PeerSet set) {
        return new StoredPeerSet(PeerSetIndex.of(set, List.of()), set, Map.of(), Map.of());
    }

    static PeerSet set(long generation, String cidr, PeerSet.Peer... peers) {
        return new PeerSet("mesh", generation, cidr, 51820, 1420, "Mesh", null, null, List.of(peers));
    }

    final AtomicReference<StoredPeerSet> latest = new AtomicReference<>();
    final DnsMetrics metrics = new DnsMetrics();
    final DnsResponder responder = new DnsResponder(DnsZoneTest.ORIGIN, 5, latest::get, SourceFilter.parse(SourceFilter.DEFAULT), metrics);

    DnsWire.Response ask(String name, InetAddress from) {
        byte[] q = DnsWire.query(name, DnsMessage.TYPE_A);
        byte[] r = responder.respond(q, q.length, from);
        return r == null ? null : DnsWire.decode(r);
    }

    @Test
    void namesFollowTheNewestPeerSetWithNoDelay() {
        assertThat(ask("node-b.mesh.vpn.internal", POD).rcode()).as("no peer set yet").isEqualTo(DnsMessage.SERVFAIL);
        latest.set(stored(set(1, "10.66.0.0/24", DnsZoneTest.peer("node-a", "10.66.0.1"), DnsZoneTest.peer("node-b", "10.66.0.2"))));
        assertThat(ask("NODE-B.mesh.vpn.internal", POD).answers()).extracting(DnsWire.Rr::data).containsExactly("10.66.0.2");
        latest.set(stored(set(2, "10.66.0.0/24", DnsZoneTest.peer("node-a", "10.66.0.1")))); // node-b revoked
        assertThat(ask("node-b.mesh.vpn.internal", POD).rcode()).isEqualTo(DnsMessage.NXDOMAIN);
        latest.set(stored(set(3, "10.66.0.0/24", DnsZoneTest.peer("node-a", "10.66.0.1"), DnsZoneTest.peer("node-b", "10.66.0.2"))));
        assertThat(ask("node-b.mesh.vpn.internal", POD).rcode()).isEqualTo(DnsMessage.NOERROR);
        assertThat(metrics.count("SERVFAIL")).isEqualTo(1);
        assertThat(metrics.count("NXDOMAIN")).isEqualTo(1);
        assertThat(metrics.count("NOERROR")).isEqualTo(2);
    }

    @Test
    void strangersGetNothingButTheOverlayMayAsk() {
        // An overlay range outside the private ones (100.66/16 is inside 100.64/10; 198.18/15 is not).
        latest.set(stored(set(1, "198.18.0.0/24", DnsZoneTest.peer("node-a", "198.18.0.1"))));
        assertThat(ask("node-a.mesh.vpn.internal", STRANGER)).as("a public address").isNull();
        assertThat(ask("node-a.mesh.vpn.internal", address("198.18.0.2")).answers()).extracting(DnsWire.Rr::data)
                .containsExactly("198.18.0.1");
        assertThat(ask("node-a.mesh.vpn.internal", SHARED_RANGE).rcode()).isEqualTo(DnsMessage.NOERROR);
        assertThat(ask("node-a.mesh.vpn.internal", address("::1")).rcode()).isEqualTo(DnsMessage.NOERROR);
        assertThat(metrics.droppedCount(DnsMetrics.Dropped.SOURCE)).isEqualTo(1);
    }

    @Test
    void malformedQueriesAreAnsweredOrDroppedAndCounted() {
        latest.set(stored(set(1, "10.66.0.0/24", DnsZoneTest.peer("node-a", "10.66.0.1"))));
        byte[] twoQuestions = DnsWire.query("node-a.mesh.vpn.internal", DnsMessage.TYPE_A);
        twoQuestions[5] = 2;
        assertThat(DnsWire.decode(responder.respond(twoQuestions, twoQuestions.length, POD)).rcode()).isEqualTo(DnsMessage.FORMERR);
        assertThat(responder.respond(new byte[5], 5, POD)).isNull();
        assertThat(metrics.count("FORMERR")).isEqualTo(1);
        assertThat(metrics.droppedCount(DnsMetrics.Dropped.MALFORMED)).isEqualTo(1);
        assertThat(metrics.prometheus()).contains("dstack_vpn_agent_dns_queries_total{rcode=\"FORMERR\"} 1",
                "dstack_vpn_agent_dns_dropped_total{reason=\"malformed\"} 1");
    }

    @Test
    void aFailingPeerSetSupplierDropsThePacketInsteadOfThrowing() {
        DnsResponder broken = new DnsResponder(DnsZoneTest.ORIGIN, 5, () -> {
            throw new IllegalStateException("boom");
        }, SourceFilter.parse(SourceFilter.DEFAULT), metrics);
        byte[] q = DnsWire.query("node-a.mesh.vpn.internal", DnsMessage.TYPE_A);
        assertThat(broken.respond(q, q.length, POD)).isNull();
    }

    @Test
    void theSourceFilterMatchesPrefixesBitByBit() {
        SourceFilter f = SourceFilter.parse("10.1.2.0/23, 2001:db8::/33");
        assertThat(f.allows(address("10.1.3.255"), null)).isTrue();
        assertThat(f.allows(address("10.1.4.0"), null)).isFalse();
        assertThat(f.allows(address("2001:db8:7fff::1"), null)).isTrue();
        assertThat(f.allows(address("2001:db8:8000::1"), null)).isFalse();
        assertThat(f.allows(address("10.9.0.1"), "10.9.0.0/16")).as("the overlay").isTrue();
        assertThat(f.allows(address("10.9.0.1"), "garbage")).isFalse();
        assertThat(SourceFilter.parse("0.0.0.0/0,::/0").allows(STRANGER, null)).isTrue();
        for (String bad : new String[] {"10.0.0.0/33", "host.example/8", "10.0.0.0/x", "::/129", "/8"}) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> SourceFilter.parse(bad)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a CIDR");
        }
    }
}
