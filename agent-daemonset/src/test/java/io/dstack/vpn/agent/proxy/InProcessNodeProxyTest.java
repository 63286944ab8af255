package io.dstack.vpn.agent.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.dstack.vpn.proxy.ProxyMetrics;
import io.dstack.vpn.testing.UdpEcho;

/**
 * The node proxy in the agent's JVM, on loopback: a UDP echo stands in for this node's WireGuard, and a tunnel
 * to the node's own proxy carries datagrams udp → tcp → udp and back, through the real tcp2udp and udp2tcp.
 */
class InProcessNodeProxyTest {
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    UdpEcho wireGuard;
    NodeTunnels proxy;
    final AtomicReference<ProxyMetrics> metrics = new AtomicReference<>();

    @BeforeEach
    void start() throws Exception {
        wireGuard = new UdpEcho();
        proxy = InProcessNodeProxy.launcher(metrics::set).start(freePort(), wireGuard.port());
    }

    @AfterEach
    void stop() {
        if (proxy != null) {
            proxy.close();
        }
        wireGuard.close();
    }

    @Test
    void aTunnelToANodesProxyCarriesDatagramsBothWays() throws Exception {
        int proxyPort = listeningPort();
        int local = proxy.open("peer-b", "127.0.0.1:" + proxyPort);
        assertThat(proxy.open("peer-b", "127.0.0.1:" + proxyPort)).as("the same target keeps the tunnel").isEqualTo(local);
        try (DatagramSocket app = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0))) {
            app.setSoTimeout(5_000);
            for (int i = 0; i < 3; i++) {
                byte[] sent = ("handshake " + i).getBytes(StandardCharsets.UTF_8);
                app.send(new DatagramPacket(sent, sent.length, LOOPBACK, local));
                DatagramPacket back = new DatagramPacket(new byte[2048], 2048);
                app.receive(back);
                assertThat(new String(back.getData(), 0, back.getLength(), StandardCharsets.UTF_8)).isEqualTo("handshake " + i);
            }
        }
        assertThat(proxy.dials()).containsEntry("peer-b", 1L);
        assertThat(metrics.get()).as("the agent serves the proxy's metrics").isNotNull();
        // both ends of the tunnel are this proxy: its udp2tcp dialled once, its tcp2udp accepted once
        assertThat(metrics.get().prometheus()).contains("dstack_vpn_proxy_connections_total 2");
        proxy.close("peer-b");
        assertThat(proxy.dials()).isEmpty();
        assertThat(proxy.alive()).isTrue();
        proxy.close();
        assertThat(proxy.alive()).isFalse();
        assertThat(metrics.get()).as("a stopped proxy's series leave the agent's /metrics").isNull();
    }

    @Test
    void aNodeNoOneCanDialRunsItsTunnelsWithoutTakingTheProxyPort() throws Exception {
        int othersProxy = listeningPort(); // the proxy of @BeforeEach stands in for another node's
        int port = freePort();
        NodeTunnels tunnelsOnly = InProcessNodeProxy.launcher(m -> { }, false).start(port, wireGuard.port());
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(port)); // free: nothing listens there
            int local = tunnelsOnly.open("peer-b", "127.0.0.1:" + othersProxy);
            try (DatagramSocket app = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0))) {
                app.setSoTimeout(5_000);
                byte[] sent = "through the other node's proxy".getBytes(StandardCharsets.UTF_8);
                app.send(new DatagramPacket(sent, sent.length, LOOPBACK, local));
                DatagramPacket back = new DatagramPacket(new byte[2048], 2048);
                app.receive(back);
                assertThat(new String(back.getData(), 0, back.getLength(), StandardCharsets.UTF_8)).isEqualTo("through the other node's proxy");
            }
        } finally {
            tunnelsOnly.close();
        }
    }

    @Test
    void aHostileTargetIsAClearErrorAndOpensNothing() throws Exception {
        assertThatThrownBy(() -> proxy.open("peer-x", "no-port-here")).isInstanceOf(IOException.class)
                .hasMessageContaining("could not open a tunnel to no-port-here");
        assertThat(proxy.dials()).isEmpty();
    }

    /** The port the proxy listens on: the one given to the launcher. */
    private int port;

    private int listeningPort() {
        return port;
    }

    private int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
            return port;
        }
    }
}
