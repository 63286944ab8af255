package io.dstack.vpn.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.dstack.vpn.proxy.ProxyMetrics;
import io.dstack.vpn.proxy.Tcp2Udp;
import io.dstack.vpn.proxy.TcpOptions;
import io.dstack.vpn.proxy.Udp2Tcp;
import io.dstack.vpn.testing.MullvadUdpOverTcp;
import io.dstack.vpn.testing.UdpEcho;

/**
 * Wire compatibility with Mullvad's own binaries, both ways, on loopback: Mullvad's udp2tcp into our tcp2udp,
 * and our udp2tcp into Mullvad's tcp2udp, with a UDP echo behind the server end. Every datagram size from 1
 * byte to beyond the 1,500-byte MTU, then a few large ones, each echoed and compared byte for byte.
 */
class MullvadInteropIT {
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    /** 1 to 1,600 every size (the MTU of an Ethernet path and a little beyond), then larger ones. */
    static final int[] LARGE = {2_048, 4_096, 9_000, 16_384, 32_768, 65_507};

    final MullvadUdpOverTcp mullvad = MullvadUdpOverTcp.require();
    final List<Process> processes = new ArrayList<>();
    final List<AutoCloseable> closeables = new ArrayList<>();
    UdpEcho echo;

    @BeforeEach
    void startEcho() throws IOException {
        echo = new UdpEcho();
    }

    @AfterEach
    void stop() throws Exception {
        processes.forEach(Process::destroyForcibly);
        for (Process p : processes) {
            p.waitFor();
        }
        for (AutoCloseable c : closeables) {
            c.close();
        }
        echo.close();
    }

    @Test
    void mullvadUdp2TcpIntoOurTcp2Udp() throws Exception {
        ProxyMetrics metrics = new ProxyMetrics();
        Tcp2Udp ours = new Tcp2Udp(List.of(new InetSocketAddress(LOOPBACK, 0)), echo.address(),
                LOOPBACK, TcpOptions.DEFAULTS, 0, metrics);
        closeables.add(ours);
        int udpPort = freeUdpPort();
        start(mullvad.udp2tcp("127.0.0.1:" + udpPort, "127.0.0.1:" + ours.boundAddresses().get(0).getPort(), "--nodelay"));
        // A datagram sent before udp2tcp has bound its port is lost: wait for the socket, as the TCP side does.
        awaitUdp(udpPort);
        int sent = everySize(new InetSocketAddress(LOOPBACK, udpPort));
        // Our tcp2udp counts each reply just after writing it: the last count may lag the echo the app holds.
        await().atMost(Duration.ofSeconds(5)).until(() -> metrics.datagrams(ProxyMetrics.TCP_TO_UDP) == sent
                && metrics.datagrams(ProxyMetrics.UDP_TO_TCP) == sent);
    }

    @Test
    void ourUdp2TcpIntoMullvadTcp2Udp() throws Exception {
        int tcpPort = freeTcpPort();
        start(mullvad.tcp2udp("127.0.0.1:" + tcpPort, "127.0.0.1:" + echo.port(), "--nodelay", "--udp-bind", "127.0.0.1"));
        awaitTcp(tcpPort);
        ProxyMetrics metrics = new ProxyMetrics();
        Udp2Tcp ours = new Udp2Tcp(new InetSocketAddress(LOOPBACK, 0), new InetSocketAddress(LOOPBACK, tcpPort), TcpOptions.DEFAULTS, metrics);
        closeables.add(ours);
        int sent = everySize(ours.localAddress());
        assertThat(metrics.datagrams(ProxyMetrics.UDP_TO_TCP)).isEqualTo(sent);
        // counted just after the send: the last reply may be counted a moment after the app received it
        await().atMost(Duration.ofSeconds(5)).until(() -> metrics.datagrams(ProxyMetrics.TCP_TO_UDP) == sent);
    }

    /** Lockstep echoes of every size through {@code entry}; returns how many datagrams went each way. */
    private int everySize(InetSocketAddress entry) throws IOException {
        Random random = new Random(14);
        byte[] out = new byte[65_507];
        byte[] in = new byte[65_535];
        int sent = 0;
        try (DatagramSocket app = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0))) {
            app.setSoTimeout(5_000);
            List<Integer> sizes = new ArrayList<>();
            for (int size = 1; size <= 1_600; size++) {
                sizes.add(size);
            }
            Arrays.stream(LARGE).forEach(sizes::add);
            for (int size : sizes) {
                random.nextBytes(out);
                app.send(new DatagramPacket(out, size, entry));
                DatagramPacket reply = new DatagramPacket(in, in.length);
                app.receive(reply);
                assertThat(reply.getLength()).as("length of the %d-byte datagram's echo", size).isEqualTo(size);
                if (!Arrays.equals(out, 0, size, in, 0, size)) {
                    throw new AssertionError("the " + size + "-byte datagram came back changed");
                }
                sent++;
            }
        }
        return sent;
    }

    private void start(List<String> command) throws IOException {
        processes.add(new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start());
    }

    /** Waits until some process has a UDP socket bound to {@code port} on this host (Linux: /proc/net/udp). */
    private static void awaitUdp(int port) throws Exception {
        String local = String.format(":%04X ", port);
        for (int i = 0; i < 200; i++) {
            if (Files.readAllLines(Path.of("/proc/net/udp")).stream().skip(1)
                    .anyMatch(line -> line.trim().split("\\s+")[1].endsWith(local.trim()))) {
                return;
            }
            Thread.sleep(25);
        }
        throw new AssertionError("nothing bound UDP port " + port + " within 5 s");
    }

    private static void awaitTcp(int port) throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            try (Socket ignored = new Socket(LOOPBACK, port)) {
                return;
            } catch (IOException e) {
                Thread.sleep(50);
            }
        }
        throw new AssertionError("nothing listens on 127.0.0.1:" + port);
    }

    private static int freeTcpPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, LOOPBACK)) {
            return s.getLocalPort();
        }
    }

    private static int freeUdpPort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0))) {
            return s.getLocalPort();
        }
    }
}
