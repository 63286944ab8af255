package io.dstack.vpn.testing;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.dstack.vpn.api.wireguard.WireGuardKey;

/**
 * Proves the harness on real wireguard-go: two simulated nodes, each with {@code wg0} configured over its UAPI
 * socket from the root namespace (as the node agent will), a ping across the overlay, UDP blocked and
 * unblocked, and nothing left behind after close. All traffic stays inside the namespaces created here.
 * Needs root and {@code hack/install-wireguard.sh}; fails (never skips) without them, so that a machine missing
 * them cannot pass {@code make test} with this test silently left out.
 */
class SimulatedNetworkIT {

    private static final String IF = "wg0";
    private static final int PORT = 51820;

    @BeforeAll
    static void requireRootAndTools() throws IOException {
        List<String> missing = new ArrayList<>();
        if (((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) != 0) {
            missing.add("root (network and mount namespaces): run the tests as root, as CI does");
        }
        for (String tool : List.of("wireguard-go", "wg", "ip", "nft", "ping", "unshare")) {
            if (!onPath(tool)) {
                missing.add(tool + " not on PATH: run hack/install-wireguard.sh");
            }
        }
        // A failure, not an assumption: a skip would let a run without WireGuard report success.
        assertThat(missing).as("SimulatedNetworkIT prerequisites missing").isEmpty();
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS) // a UAPI read has no timeout of its own
    void wireGuardTunnelBetweenTwoNodesConfiguredOverUapiFromTheRootNamespace() throws Exception {
        long t0 = System.nanoTime();
        SimulatedNetwork net = new SimulatedNetwork();
        String suffix = net.suffix();
        Path tempDir = net.tempDir();
        long[] pids = new long[2];
        try {
            SimulatedNode a = net.addNode("a");
            SimulatedNode b = net.addNode("b");
            System.out.printf(Locale.ROOT, "network %s (%s, bridge %s) with 2 nodes up in %.1f ms%n",
                    suffix, net.underlaySubnet(), net.bridgeName(), ms(t0));
            assertThat(a.ping(b.underlayAddress(), 1).success()).as("underlay a -> b").isTrue();

            long tStart = System.nanoTime();
            Process wgA = a.startWireGuard(IF);
            double startA = ms(tStart);
            tStart = System.nanoTime();
            Process wgB = b.startWireGuard(IF);
            double startB = ms(tStart);
            System.out.printf(Locale.ROOT, "wireguard-go start (spawn -> UAPI socket): a %.1f ms, b %.1f ms%n", startA, startB);
            pids[0] = wgA.pid();
            pids[1] = wgB.pid();
            // The PID we hold is wireguard-go itself (ip, unshare and sh exec their successors), not a wrapper.
            assertThat(ProcessHandle.of(pids[0]).flatMap(p -> p.info().command()).orElse(""))
                    .endsWith("wireguard-go");
            // Same interface name on both nodes, yet two distinct sockets, reachable from here.
            assertThat(a.uapiSocket(IF)).isNotEqualTo(b.uapiSocket(IF)).exists();
            assertThat(b.uapiSocket(IF)).exists();
            // The bind mounts live only in wireguard-go's private mount namespaces, not in ours.
            assertThat(Files.readString(Path.of("/proc/self/mountinfo"))).doesNotContain(tempDir.toString());

            WireGuardKey privA = WireGuardKey.generatePrivate();
            WireGuardKey privB = WireGuardKey.generatePrivate();
            long tSet = System.nanoTime();
            configure(a, privA, privB.publicKey(), b.underlayAddress(), "10.99.0.2/32");
            configure(b, privB, privA.publicKey(), a.underlayAddress(), "10.99.0.1/32");
            System.out.printf(Locale.ROOT, "UAPI set (key, port, one peer) on both nodes, cold: %.2f ms%n", ms(tSet));
            tSet = System.nanoTime();
            configure(a, privA, privB.publicKey(), b.underlayAddress(), "10.99.0.2/32");
            System.out.printf(Locale.ROOT, "UAPI set again on one node, warm: %.2f ms%n", ms(tSet));
            assertThat(uapi(a.uapiSocket(IF), "get=1\n\n"))
                    .contains("public_key=" + privB.publicKey().toHex())
                    .contains("endpoint=" + b.underlayAddress() + ":" + PORT)
                    .endsWith("errno=0\n\n");

            bringUp(a, "10.99.0.1/24");
            bringUp(b, "10.99.0.2/24");

            long tFirst = System.nanoTime();
            SimulatedNode.PingResult first = a.ping("10.99.0.2", 1);
            System.out.printf(Locale.ROOT, "first overlay ping (includes the handshake): %.1f ms wall, rtt %.3f ms%n",
                    ms(tFirst), first.avgRttMillis().orElse(Double.NaN));
            assertThat(first.success()).as(first.output()).isTrue();

            SimulatedNode.PingResult overlay = a.ping("10.99.0.2", 10);
            assertThat(overlay.success()).as(overlay.output()).isTrue();
            System.out.printf(Locale.ROOT, "overlay ping a -> b, 10 probes: avg rtt %.3f ms%n",
                    overlay.avgRttMillis().orElseThrow());
            SimulatedNode.PingResult underlay = a.ping(b.underlayAddress(), 10);
            System.out.printf(Locale.ROOT, "underlay ping a -> b, 10 probes: avg rtt %.3f ms%n",
                    underlay.avgRttMillis().orElseThrow());
            assertThat(b.ping("10.99.0.1", 3).success()).as("overlay b -> a").isTrue();

            a.blockUdp();
            SimulatedNode.PingResult blocked = a.ping("10.99.0.2", 3);
            assertThat(blocked.success()).as(blocked.output()).isFalse();
            assertThat(blocked.received()).isZero();
            // Only UDP is cut: ICMP on the underlay still passes.
            assertThat(a.ping(b.underlayAddress(), 1).success()).isTrue();

            a.unblockUdp();
            a.unblockUdp(); // idempotent
            SimulatedNode.PingResult restored = a.ping("10.99.0.2", 3);
            assertThat(restored.success()).as(restored.output()).isTrue();
        } finally {
            long tClose = System.nanoTime();
            net.close();
            System.out.printf(Locale.ROOT, "close: %.1f ms%n", ms(tClose));
        }

        net.close(); // idempotent
        // Match whole name prefixes: a bare 4-hex suffix like "1500" could also match "mtu 1500".
        assertThat(run("ip", "netns", "list")).doesNotContain("dv-" + suffix + "-");
        assertThat(run("ip", "link", "show")).doesNotContain("dvb-" + suffix).doesNotContain("dvh-" + suffix + "-");
        for (long pid : pids) {
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                    .as("wireguard-go pid %d", pid).isFalse();
        }
        // wireguard-go's command line (the unshare/sh part of it) names the node's socket dir under tempDir.
        assertThat(ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().orElse("").contains(tempDir.toString())))
                .isEmpty();
        assertThat(tempDir).doesNotExist();
    }

    /** One UAPI set: private key, listen port and a single peer, replacing any previous peers. */
    private static void configure(SimulatedNode node, WireGuardKey privateKey, WireGuardKey peer,
                                  String peerUnderlay, String allowedIp) throws IOException {
        String reply = uapi(node.uapiSocket(IF), "set=1\n"
                + "private_key=" + privateKey.toHex() + "\n"
                + "listen_port=" + PORT + "\n"
                + "replace_peers=true\n"
                + "public_key=" + peer.toHex() + "\n"
                + "endpoint=" + peerUnderlay + ":" + PORT + "\n"
                + "replace_allowed_ips=true\n"
                + "allowed_ip=" + allowedIp + "\n"
                + "\n");
        assertThat(reply).isEqualTo("errno=0\n\n");
    }

    private static void bringUp(SimulatedNode node, String address) {
        assertThat(node.exec("ip", "addr", "add", address, "dev", IF).ok()).isTrue();
        assertThat(node.exec("ip", "link", "set", IF, "up").ok()).isTrue();
    }

    /**
     * Sends one UAPI request and reads the reply, which always ends with {@code errno=N} and an empty line
     * ({@code get} puts the configuration before it). Connects from the root namespace.
     */
    static String uapi(Path socket, String request) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ByteBuffer out = ByteBuffer.wrap(request.getBytes(UTF_8));
            while (out.hasRemaining()) {
                ch.write(out);
            }
            ByteArrayOutputStream reply = new ByteArrayOutputStream();
            ByteBuffer in = ByteBuffer.allocate(8192);
            while (!endsWithErrno(reply.toString(UTF_8))) {
                in.clear();
                int n = ch.read(in);
                if (n < 0) {
                    throw new IOException("UAPI socket closed before the reply ended: " + reply.toString(UTF_8));
                }
                reply.write(in.array(), 0, n);
            }
            return reply.toString(UTF_8);
        }
    }

    private static boolean endsWithErrno(String s) {
        if (!s.endsWith("\n\n")) {
            return false;
        }
        int last = s.lastIndexOf('\n', s.length() - 3);
        return s.startsWith("errno=", last + 1);
    }

    private static String run(String... command) {
        SimulatedNode.ExecResult r = SimulatedNetwork.run(SimulatedNetwork.COMMAND_TIMEOUT, List.of(command));
        assertThat(r.exitCode()).as(String.join(" ", command) + ": " + r.output()).isZero();
        return r.output();
    }

    private static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    private static double ms(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e6;
    }
}
