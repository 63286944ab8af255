package io.dstack.vpn.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

import io.dstack.vpn.api.peerset.PeerSet;

class WgQuickConfigTest {
    static final String KEY_A = "A".repeat(43) + "=";
    static final String KEY_B = "B".repeat(43) + "=";
    static final String KEY_C = "C".repeat(43) + "=";

    static PeerSet set(Integer proxyPort, String transportA, String transportB, String endpointB) {
        return new PeerSet("edge", 7, "10.55.0.0/24", 51820, 1420, "Mesh", null, proxyPort, List.of(
                new PeerSet.Peer("a", KEY_A, "10.55.0.2", "198.51.100.2:51820", transportA, null),
                new PeerSet.Peer("b", KEY_B, "10.55.0.3", endpointB, transportB, null),
                new PeerSet.Peer("c", KEY_C, "10.55.0.4", "198.51.100.4:51820", "UDP", 10)));
    }

    /** The [Peer] section for {@code nodeId} in a rendered config. */
    static String section(String config, String nodeId) {
        int start = config.indexOf("[Peer]\n# " + nodeId + "\n");
        assertThat(start).as("a [Peer] for %s in%n%s", nodeId, config).isNotNegative();
        int end = config.indexOf("[Peer]", start + 1);
        return config.substring(start, end < 0 ? config.length() : end);
    }

    static Stream<Arguments> cases() {
        return Stream.of(
                // name, set, as node, peer, what its section must contain, what it must not
                Arguments.of("UDP to UDP: the peer's own endpoint", set(null, "UDP", "UDP", "198.51.100.3:51820"), "a", "b",
                        List.of("Endpoint = 198.51.100.3:51820", "AllowedIPs = 10.55.0.3/32"), List.of("udp2tcp", "PersistentKeepalive")),
                Arguments.of("UDP to a TCP peer: no endpoint, it dials in", set(443, "UDP", "TCP", "198.51.100.3:51820"), "a", "b",
                        List.of("dials in through this node's proxy"), List.of("Endpoint", "udp2tcp")),
                Arguments.of("TCP to UDP: a tunnel to the peer's proxy, keepalive on", set(443, "TCP", "UDP", "198.51.100.3:51820"), "a", "b",
                        List.of("udp2tcp --udp-listen 127.0.0.1:51821 --tcp-forward 198.51.100.3:443", "Endpoint = 127.0.0.1:51821",
                                "PersistentKeepalive = 25"), List.of("198.51.100.3:51820", "resolve")),
                Arguments.of("TCP: the second tunnel takes the next port and keeps the peer's own keepalive",
                        set(443, "TCP", "UDP", "198.51.100.3:51820"), "a", "c",
                        List.of("udp2tcp --udp-listen 127.0.0.1:51822 --tcp-forward 198.51.100.4:443", "Endpoint = 127.0.0.1:51822",
                                "PersistentKeepalive = 10"), List.of("PersistentKeepalive = 25")),
                Arguments.of("TCP to a peer named by DNS: udp2tcp needs an IP", set(443, "TCP", "UDP", "node-b.example.net:51820"), "a", "b",
                        List.of("--tcp-forward node-b.example.net:443", "resolve node-b.example.net first"), List.of()),
                Arguments.of("TCP to an IPv6 peer", set(443, "TCP", "UDP", "[2001:db8::3]:51820"), "a", "b",
                        List.of("--tcp-forward [2001:db8::3]:443"), List.of("resolve")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void peersFollowTheAgentsTransportRules(String name, PeerSet set, String self, String peer, List<String> contains, List<String> absent) {
        String section = section(WgQuickConfig.render(set, self, "edge"), peer);
        contains.forEach(c -> assertThat(section).contains(c));
        absent.forEach(a -> assertThat(section).doesNotContain(a));
    }

    @Test
    void theInterfaceNeverCarriesAPrivateKeyAndATcpNodeIsToldToStartItsTunnels() {
        String config = WgQuickConfig.render(set(443, "TCP", "UDP", "198.51.100.3:51820"), "a", "edge");
        assertThat(config).contains("PrivateKey = <the node's private key>", "Address = 10.55.0.2/24", "ListenPort = 51820",
                "start one udp2tcp per peer first");
    }

    @Test
    void tcpWithoutAProxyAndAnUnknownNodeAreClearErrors() {
        assertThatThrownBy(() -> WgQuickConfig.render(set(null, "TCP", "UDP", "198.51.100.3:51820"), "a", "edge"))
                .isInstanceOfSatisfying(CliException.class, e -> assertThat(e.exitCode()).isEqualTo(ExitCodes.CONFIG))
                .hasMessageContaining("does not enable spec.proxy");
        assertThatThrownBy(() -> WgQuickConfig.render(set(null, "UDP", "UDP", "198.51.100.3:51820"), "nobody", "edge"))
                .isInstanceOfSatisfying(CliException.class, e -> assertThat(e.exitCode()).isEqualTo(ExitCodes.NOT_FOUND));
    }
}
