package io.dstack.vpn.agent.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.api.peerset.DesiredPeer;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetView;

class ProxyRoutingTest {
    static final String A = "dSU0pbxPrYtcVc/CuUymqqtnyHoLJmKOnUTgs5JgUE0=";
    static final String B = "jNe5rMbTYrOHEE4mdoFm1FcS9MrMFaIWW1iLtXvSiHU=";
    static final String C = "gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=";

    /** Records what the routing asks of the proxy; hands out ports 40000, 40001, ... */
    static class FakeTunnels implements NodeTunnels {
        final Map<String, String> open = new LinkedHashMap<>();
        final List<String> log = new ArrayList<>();
        boolean alive = true;
        int nextPort = 40_000;

        @Override
        public int open(String id, String target) {
            open.put(id, target);
            log.add("open " + id + " " + target);
            return nextPort++;
        }

        @Override
        public void close(String id) {
            open.remove(id);
            log.add("close " + id);
        }

        /** Connections per tunnel, as the proxy would report them. */
        final Map<String, Long> dials = new LinkedHashMap<>();

        @Override
        public Map<String, Long> dials() {
            Map<String, Long> open = new LinkedHashMap<>();
            this.open.keySet().forEach(id -> open.put(id, dials.getOrDefault(id, 0L)));
            return open;
        }

        @Override
        public boolean alive() {
            return alive;
        }

        @Override
        public void close() {
            alive = false;
            log.add("stop");
        }
    }

    final List<FakeTunnels> started = new ArrayList<>();
    final List<String> launches = new ArrayList<>();

    ProxyRouting routing(String self) {
        return new ProxyRouting(self, (tcp, wg) -> {
            launches.add(tcp + "->" + wg);
            FakeTunnels t = new FakeTunnels();
            started.add(t);
            return t;
        });
    }

    static PeerSet set(Integer proxyPort, String transportC) {
        return new PeerSet("n", 1, "10.9.0.0/24", 51820, 1420, "Mesh", null, proxyPort, List.of(
                new PeerSet.Peer("a", A, "10.9.0.1", "192.0.2.1:51820", "UDP", null),
                new PeerSet.Peer("b", B, "10.9.0.2", "192.0.2.2:51820", "UDP", 10),
                new PeerSet.Peer("c", C, "10.9.0.3", "192.0.2.3:51820", transportC, null)));
    }

    @Test
    void aTcpNodeReachesEveryPeerThroughATunnelToThatPeersProxy() throws IOException {
        ProxyRouting r = routing("c");
        PeerSet set = set(8443, "TCP");
        List<DesiredPeer> out = r.route(set, PeerSetView.desiredFor(set, "c"));
        assertThat(launches).containsExactly("8443->51820");
        assertThat(started.get(0).open).containsExactly(Map.entry("a", "192.0.2.1:8443"), Map.entry("b", "192.0.2.2:8443"));
        assertThat(out).extracting(DesiredPeer::endpoint).containsExactly("127.0.0.1:40000", "127.0.0.1:40001");
        // A tunnel needs traffic to come up: keepalive on, unless the peer asked for its own.
        assertThat(out).extracting(DesiredPeer::keepalive).containsExactly(ProxyRouting.TUNNEL_KEEPALIVE_SECONDS, 10);
        assertThat(r.tunnelCount()).isEqualTo(2);

        // The same set again: nothing reopened, the same endpoints (no churn on the device).
        assertThat(r.route(set, PeerSetView.desiredFor(set, "c"))).isEqualTo(out);
        assertThat(started.get(0).log).hasSize(2);
    }

    @Test
    void udpNodesLeaveATcpPeersEndpointEmptyAndStillRunTheirProxy() throws IOException {
        ProxyRouting r = routing("a");
        PeerSet set = set(8443, "TCP");
        List<DesiredPeer> out = r.route(set, PeerSetView.desiredFor(set, "a"));
        assertThat(out).extracting(DesiredPeer::nodeId, DesiredPeer::endpoint)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("b", "192.0.2.2:51820"), org.assertj.core.groups.Tuple.tuple("c", null));
        assertThat(launches).containsExactly("8443->51820"); // c dials in through it
        assertThat(started.get(0).open).isEmpty();
    }

    @Test
    void aPeerThatLeavesLosesItsTunnelAndDisablingTheProxyStopsIt() throws IOException {
        ProxyRouting r = routing("c");
        PeerSet set = set(8443, "TCP");
        r.route(set, PeerSetView.desiredFor(set, "c"));
        List<DesiredPeer> withoutB = PeerSetView.desiredFor(set, "c").stream().filter(p -> !p.nodeId().equals("b")).toList();
        r.route(set, withoutB);
        assertThat(started.get(0).log).endsWith("close b");

        PeerSet off = set(null, "TCP");
        List<DesiredPeer> plain = PeerSetView.desiredFor(off, "c");
        assertThat(r.route(off, plain)).isEqualTo(plain);
        assertThat(started.get(0).log).endsWith("stop");
        assertThat(r.tunnelCount()).isZero();
    }

    /**
     * A tunnel that dials again (its far proxy restarted) is reported once; first connections, a steady count and
     * tunnels that are gone are not. Rows: connections of a and b as the proxy reports them, then what redialed() says.
     */
    @SuppressWarnings("unchecked")
    private static List<String> expected(Object cell) {
        return (List<String>) cell;
    }

    @Test
    void onlyATunnelThatDialsAgainIsReportedAndOnlyOnce() throws IOException {
        ProxyRouting r = routing("c");
        PeerSet set = set(8443, "TCP");
        r.route(set, PeerSetView.desiredFor(set, "c"));
        FakeTunnels proxy = started.get(0);
        Object[][] rows = {
            {0L, 0L, List.of()},          // no traffic yet
            {1L, 0L, List.of()},          // a's first connection: nothing was lost
            {1L, 1L, List.of()},          // b's first connection
            {2L, 1L, List.of("a")},       // a dialled again: a's node restarted
            {2L, 1L, List.of()},          // reported once
            {3L, 2L, List.of("a", "b")},  // both again
        };
        for (Object[] row : rows) {
            proxy.dials.put("a", (Long) row[0]);
            proxy.dials.put("b", (Long) row[1]);
            assertThat(r.redialed()).as("a=%s b=%s", row[0], row[1]).extracting(DesiredPeer::nodeId)
                    .containsExactlyInAnyOrderElementsOf(expected(row[2]));
        }
        // b leaves, comes back with a new tunnel whose count starts over: not a re-dial.
        r.route(set, PeerSetView.desiredFor(set, "c").stream().filter(p -> !p.nodeId().equals("b")).toList());
        proxy.dials.remove("b");
        assertThat(r.redialed()).isEmpty();
        r.route(set, PeerSetView.desiredFor(set, "c"));
        proxy.dials.put("b", 1L);
        assertThat(r.redialed()).isEmpty();
        // A dead proxy reports nothing (the next apply starts a new one).
        proxy.alive = false;
        assertThat(r.redialed()).isEmpty();
    }

    @Test
    void aDeadProxyIsStartedAgainAndTunnelsReopened() throws IOException {
        ProxyRouting r = routing("c");
        PeerSet set = set(8443, "TCP");
        r.route(set, PeerSetView.desiredFor(set, "c"));
        started.get(0).alive = false;
        r.route(set, PeerSetView.desiredFor(set, "c"));
        assertThat(started).hasSize(2);
        assertThat(started.get(1).open).hasSize(2);
    }

    @Test
    void aFailureStopsTheProxySoTheNextApplyStartsClean() {
        ProxyRouting r = new ProxyRouting("c", (tcp, wg) -> new FakeTunnels() {
            @Override
            public int open(String id, String target) {
                throw new IllegalStateException("boom");
            }
        });
        PeerSet set = set(8443, "TCP");
        assertThatThrownBy(() -> r.route(set, PeerSetView.desiredFor(set, "c"))).hasMessage("boom");
        assertThat(r.tunnelCount()).isZero();
    }
}
