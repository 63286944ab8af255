package io.dstack.vpn.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import io.dstack.vpn.testing.UdpEcho;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Our tcp2udp and udp2tcp on loopback with real sockets: a UDP echo server stands in for WireGuard. (Interop
 * with Mullvad's own binaries: e2e's MullvadInteropIT and MullvadWireGuardIT; hostile clients: ProxyUnderAttackIT.)
 */
class ProxyLoopbackIT {
    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    /** The largest UDP payload over IPv4. */
    private static final int MAX_UDP = 65_507;

    private final ProxyMetrics serverMetrics = new ProxyMetrics();
    private final ProxyMetrics clientMetrics = new ProxyMetrics();
    private UdpEcho echo;
    private Tcp2Udp server;

    @BeforeEach
    void start() throws IOException {
        echo = new UdpEcho();
        server = new Tcp2Udp(List.of(new InetSocketAddress(LOOPBACK, 0)), echo.address(), LOOPBACK, TcpOptions.DEFAULTS, 64,
                serverMetrics);
    }

    @AfterEach
    void stop() {
        server.close();
        echo.close();
    }

    private InetSocketAddress serverAddress() {
        return server.boundAddresses().get(0);
    }

    @Test
    void everyDatagramSizeTravelsWholeThroughUdp2TcpAndTcp2Udp() throws Exception {
        try (Udp2Tcp client = new Udp2Tcp(new InetSocketAddress(LOOPBACK, 0), serverAddress(), TcpOptions.DEFAULTS, clientMetrics);
                DatagramSocket app = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0))) {
            app.setSoTimeout(5_000); // not connected: the JDK drops zero-length datagrams on connected sockets
            Random random = new Random(42);
            byte[] out = new byte[MAX_UDP];
            byte[] in = new byte[65_535];
            DatagramPacket reply = new DatagramPacket(in, in.length);
            // Every size from 0 to the IPv4 UDP maximum, lockstep so no datagram is lost to a full buffer.
            for (int size = 0; size <= MAX_UDP; size++) {
                random.nextBytes(out);
                app.send(new DatagramPacket(out, size, client.localAddress()));
                reply.setData(in);
                app.receive(reply);
                assertThat(reply.getLength()).isEqualTo(size);
                if (!Arrays.equals(out, 0, size, in, 0, size)) {
                    throw new AssertionError("datagram of " + size + " bytes came back changed");
                }
            }
            // Counters move just after each write, so the last one may lag the echo the app already holds.
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                assertThat(clientMetrics.datagrams(ProxyMetrics.UDP_TO_TCP)).isEqualTo(MAX_UDP + 1);
                assertThat(serverMetrics.datagrams(ProxyMetrics.TCP_TO_UDP)).isEqualTo(MAX_UDP + 1);
            });
            assertThat(serverMetrics.activeConnections()).isEqualTo(1);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> serverMetrics.activeConnections() == 0);
    }

    @Test
    void coalescedAndSplitFramesFromARawTcpClientBecomeExactDatagrams() throws Exception {
        try (Socket tcp = new Socket(LOOPBACK, serverAddress().getPort())) {
            tcp.setSoTimeout(5_000);
            OutputStream out = tcp.getOutputStream();
            InputStream in = new BufferedInputStream(tcp.getInputStream());
            // 100 frames in one write (coalesced)...
            ByteArrayOutputStream many = new ByteArrayOutputStream();
            for (int i = 0; i < 100; i++) {
                many.write(frame(i, i * 7));
            }
            out.write(many.toByteArray());
            // ...then one frame dribbled out a byte at a time (split).
            byte[] split = frame(200, 1500);
            for (byte b : split) {
                out.write(b);
                out.flush();
            }
            byte[] buf = new byte[Framing.MAX_PAYLOAD];
            for (int i = 0; i < 100; i++) {
                assertThat(Framing.readFrame(in, buf)).isEqualTo(i * 7);
                assertThat(Arrays.copyOf(buf, i * 7)).isEqualTo(Arrays.copyOfRange(frame(i, i * 7), 2, 2 + i * 7));
            }
            assertThat(Framing.readFrame(in, buf)).isEqualTo(1500);
            assertThat(Arrays.copyOf(buf, 1500)).isEqualTo(Arrays.copyOfRange(split, 2, split.length));
        }
    }

    @Test
    void aFrameTooBigForUdpIsDroppedAndTheStreamGoesOn() throws Exception {
        try (Socket tcp = new Socket(LOOPBACK, serverAddress().getPort())) {
            tcp.setSoTimeout(5_000);
            OutputStream out = tcp.getOutputStream();
            out.write(frame(1, Framing.MAX_PAYLOAD)); // 65,535 bytes: more than UDP over IPv4 carries
            out.write(frame(2, 10));
            byte[] buf = new byte[Framing.MAX_PAYLOAD];
            assertThat(Framing.readFrame(new BufferedInputStream(tcp.getInputStream()), buf)).isEqualTo(10);
            assertThat(buf[0]).isEqualTo((byte) 2);
            assertThat(serverMetrics.errors("udp_send")).isEqualTo(1);
        }
    }

    @Test
    void manyConcurrentConnectionsEachGetOnlyTheirOwnReplies() throws Exception {
        int connections = 48;
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        List<Future<Integer>> results = new ArrayList<>();
        for (int c = 0; c < connections; c++) {
            int id = c;
            results.add(pool.submit((Callable<Integer>) () -> {
                try (Udp2Tcp client = new Udp2Tcp(new InetSocketAddress(LOOPBACK, 0), serverAddress(), TcpOptions.DEFAULTS, clientMetrics);
                        DatagramSocket app = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0))) {
                    app.setSoTimeout(5_000);
                    app.connect(client.localAddress());
                    byte[] in = new byte[2048];
                    for (int i = 0; i < 200; i++) {
                        byte[] payload = (id + ":" + i).getBytes();
                        app.send(new DatagramPacket(payload, payload.length));
                        DatagramPacket reply = new DatagramPacket(in, in.length);
                        app.receive(reply);
                        assertThat(new String(in, 0, reply.getLength())).isEqualTo(id + ":" + i);
                    }
                    return 200;
                }
            }));
        }
        int total = 0;
        for (Future<Integer> f : results) {
            total += f.get();
        }
        pool.close();
        assertThat(total).isEqualTo(connections * 200);
        // The server counts a reply just after writing it, so the client may hold the last one a moment earlier.
        await().atMost(Duration.ofSeconds(5)).untilAsserted(
                () -> assertThat(serverMetrics.datagrams(ProxyMetrics.UDP_TO_TCP)).isEqualTo(connections * 200L));
        await().atMost(Duration.ofSeconds(5)).until(() -> serverMetrics.activeConnections() == 0);
    }

    @Test
    void truncatedFramesResetsAndPeersThatNeverReadLeaveNoConnectionBehind() throws Exception {
        // A frame cut off by the peer closing the connection.
        try (Socket tcp = new Socket(LOOPBACK, serverAddress().getPort())) {
            tcp.getOutputStream().write(new byte[] {0, 100, 1, 2, 3});
        }
        // A connection reset (RST) in the middle of a frame.
        Socket reset = new Socket(LOOPBACK, serverAddress().getPort());
        reset.getOutputStream().write(new byte[] {(byte) 0xff, (byte) 0xff, 1});
        reset.setSoLinger(true, 0);
        reset.close();
        // A peer that floods the echo (so replies pile up) and never reads them.
        Socket deaf = new Socket(LOOPBACK, serverAddress().getPort());
        deaf.setReceiveBufferSize(4096);
        byte[] big = frame(9, 60_000);
        for (int i = 0; i < 200; i++) {
            deaf.getOutputStream().write(big);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> serverMetrics.activeConnections() == 1);
        deaf.close();
        await().atMost(Duration.ofSeconds(5)).until(() -> serverMetrics.activeConnections() == 0);
        assertThat(serverMetrics.errors("tcp_read")).isGreaterThanOrEqualTo(2);
        // The server still serves after all that.
        coalescedAndSplitFramesFromARawTcpClientBecomeExactDatagrams();
    }

    @Test
    void repliesComeOnlyFromTheForwardAddressNotAnOpenRelay() throws Exception {
        try (Socket tcp = new Socket(LOOPBACK, serverAddress().getPort());
                DatagramSocket stranger = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0))) {
            tcp.setSoTimeout(1_000);
            tcp.getOutputStream().write(frame(1, 20));
            InputStream in = new BufferedInputStream(tcp.getInputStream());
            byte[] buf = new byte[Framing.MAX_PAYLOAD];
            assertThat(Framing.readFrame(in, buf)).isEqualTo(20);
            // The connection's UDP socket, as the forward target saw it: a stranger sends to it.
            SocketAddress connectionSocket = echo.sources.iterator().next();
            stranger.send(new DatagramPacket(new byte[] {66, 66}, 2, connectionSocket));
            tcp.getOutputStream().write(frame(3, 5));
            assertThat(Framing.readFrame(in, buf)).isEqualTo(5);
            assertThat(buf[0]).isEqualTo((byte) 3); // the stranger's datagram never reached the TCP side
        }
    }

    @Test
    void connectionsBeyondTheLimitOfProvenTunnelsAreRefusedAndCounted() throws Exception {
        try (Tcp2Udp limited = new Tcp2Udp(List.of(new InetSocketAddress(LOOPBACK, 0)), echo.address(), LOOPBACK,
                TcpOptions.DEFAULTS, 2, serverMetrics);
                Socket a = new Socket(LOOPBACK, limited.boundAddresses().get(0).getPort());
                Socket b = new Socket(LOOPBACK, limited.boundAddresses().get(0).getPort())) {
            for (Socket tunnel : List.of(a, b)) { // tunnels that completed a frame never give way
                tunnel.setSoTimeout(5_000);
                tunnel.getOutputStream().write(frame(1, 10));
                assertThat(Framing.readFrame(new BufferedInputStream(tunnel.getInputStream()), new byte[Framing.MAX_PAYLOAD]))
                        .isEqualTo(10);
            }
            try (Socket c = new Socket(LOOPBACK, limited.boundAddresses().get(0).getPort())) {
                c.setSoTimeout(5_000);
                assertThat(c.getInputStream().read()).isEqualTo(-1); // closed by the proxy
            }
            assertThat(serverMetrics.prometheus()).contains("dstack_vpn_proxy_connections_rejected_total 1");
        }
    }

    @Test
    void aConnectionThatNeverCompletesAFrameIsClosedAfterTheFrameTimeout() throws Exception {
        try (Tcp2Udp timed = new Tcp2Udp(List.of(new InetSocketAddress(LOOPBACK, 0)), echo.address(), LOOPBACK,
                new TcpOptions(true, 0, 0, 0, 1), 4, serverMetrics);
                Socket silent = new Socket(LOOPBACK, timed.boundAddresses().get(0).getPort());
                Socket halfFrame = new Socket(LOOPBACK, timed.boundAddresses().get(0).getPort())) {
            halfFrame.getOutputStream().write(new byte[] {(byte) 0xff, (byte) 0xff, 1, 2, 3});
            silent.setSoTimeout(5_000);
            halfFrame.setSoTimeout(5_000);
            assertThat(silent.getInputStream().read()).isEqualTo(-1);
            assertThat(halfFrame.getInputStream().read()).isEqualTo(-1);
            assertThat(serverMetrics.timedOutCount(FrameDeadline.FRAME)).isEqualTo(2);
        }
    }

    @Test
    void aTunnelQuietBetweenFramesIsClosedOnlyByTheIdleTimeout() throws Exception {
        try (Tcp2Udp timed = new Tcp2Udp(List.of(new InetSocketAddress(LOOPBACK, 0)), echo.address(), LOOPBACK,
                new TcpOptions(true, 0, 0, 2, 1), 4, serverMetrics);
                Socket tunnel = new Socket(LOOPBACK, timed.boundAddresses().get(0).getPort())) {
            tunnel.setSoTimeout(5_000);
            tunnel.getOutputStream().write(frame(1, 20));
            InputStream in = new BufferedInputStream(tunnel.getInputStream());
            assertThat(Framing.readFrame(in, new byte[Framing.MAX_PAYLOAD])).isEqualTo(20);
            long quietSince = System.nanoTime();
            assertThat(in.read()).isEqualTo(-1); // closed after the 2 s idle timeout, not the 1 s frame timeout
            assertThat(System.nanoTime() - quietSince).isGreaterThan(1_500_000_000L);
            assertThat(serverMetrics.timedOutCount(FrameDeadline.IDLE)).isEqualTo(1);
            assertThat(serverMetrics.timedOutCount(FrameDeadline.FRAME)).isZero();
        }
    }

    @Test
    void atTheLimitIdleConnectionsGiveWayToATunnel() throws Exception {
        try (Tcp2Udp limited = new Tcp2Udp(List.of(new InetSocketAddress(LOOPBACK, 0)), echo.address(), LOOPBACK,
                TcpOptions.DEFAULTS, 3, serverMetrics)) {
            int port = limited.boundAddresses().get(0).getPort();
            List<Socket> idle = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                idle.add(new Socket(LOOPBACK, port));
            }
            Thread.sleep(ConnectionLimit.GRACE_NANOS / 1_000_000 + 200); // past their grace: they may give way now
            await().atMost(Duration.ofSeconds(5)).until(() -> serverMetrics.activeConnections() == 3);
            try (Socket tunnel = new Socket(LOOPBACK, port)) {
                tunnel.setSoTimeout(5_000);
                tunnel.getOutputStream().write(frame(4, 100));
                assertThat(Framing.readFrame(new BufferedInputStream(tunnel.getInputStream()), new byte[Framing.MAX_PAYLOAD]))
                        .isEqualTo(100);
                assertThat(serverMetrics.evictedCount()).isEqualTo(1);
                assertThat(serverMetrics.rejectedCount()).isEqualTo(7); // they came within each other's grace
            } finally {
                idle.forEach(Pumps::closeQuietly);
            }
        }
    }

    /** A frame whose payload is {@code length} bytes of {@code fill}. */
    private static byte[] frame(int fill, int length) {
        byte[] f = new byte[Framing.HEADER + length];
        Arrays.fill(f, Framing.HEADER, f.length, (byte) fill);
        f[0] = (byte) (length >>> 8);
        f[1] = (byte) length;
        return f;
    }

    /**
     * The far proxy restarts (its agent restarted, and with it, very likely, its WireGuard): the tunnel dials it
     * again on the next datagram and counts a second connection, which NodeProxy reports on "dials" so the agent
     * can renew its WireGuard session with that peer.
     */
    @Test
    void aTunnelCountsTheConnectionsItOpensAndNodeProxyReportsThem() throws Exception {
        NodeProxy node = new NodeProxy(LOOPBACK, TcpOptions.DEFAULTS, clientMetrics);
        int port = serverAddress().getPort();
        try (DatagramSocket app = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0))) {
            app.setSoTimeout(1_000);
            String opened = node.handle("tunnel peer-1 127.0.0.1:" + port);
            int local = Integer.parseInt(opened.substring("tunnel peer-1 ".length()));
            assertThat(node.handle("dials")).as("no datagram yet, no connection").isEqualTo("dials peer-1=0");
            echoThrough(app, local);
            assertThat(node.handle("dials")).isEqualTo("dials peer-1=1");
            echoThrough(app, local);
            assertThat(node.handle("dials")).as("one connection carries every datagram").isEqualTo("dials peer-1=1");

            server.close(); // the far proxy goes away ...
            // ... and comes back on the same port, once the old listener has let go of it.
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).ignoreException(java.net.BindException.class)
                    .until(() -> (server = new Tcp2Udp(List.of(new InetSocketAddress(LOOPBACK, port)), echo.address(), LOOPBACK,
                            TcpOptions.DEFAULTS, 64, serverMetrics)) != null);
            // The tunnel learns of the loss when it reads the end of the old connection; the datagram after that dials again.
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).untilAsserted(() -> {
                try {
                    echoThrough(app, local);
                } catch (java.net.SocketTimeoutException lostWhileRedialling) {
                    // the datagram that met the dead connection
                }
                assertThat(node.handle("dials")).isEqualTo("dials peer-1=2");
            });
            assertThat(node.handle("dials nonsense")).startsWith("error");
        } finally {
            node.close();
        }
    }

    private static void echoThrough(DatagramSocket app, int localPort) throws IOException {
        byte[] out = "ping".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        app.send(new DatagramPacket(out, out.length, new InetSocketAddress(LOOPBACK, localPort)));
        DatagramPacket reply = new DatagramPacket(new byte[16], 16);
        app.receive(reply);
        assertThat(new String(reply.getData(), 0, reply.getLength(), java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("ping");
    }
}
