package io.dstack.vpn.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.dstack.vpn.agent.proxy.NodeProxyProcess;
import io.dstack.vpn.agent.uapi.UapiClient;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.proxy.ProxyMain;
import io.dstack.vpn.testing.MullvadUdpOverTcp;
import io.dstack.vpn.testing.SimulatedNetwork;
import io.dstack.vpn.testing.SimulatedNode;

/**
 * A real WireGuard handshake and ping through each pairing of udp2tcp and tcp2udp implementations, ours and
 * Mullvad's, between two network-namespace nodes running wireguard-go. The client node's UDP is blocked on its
 * eth0, so its only way to the server node is the TCP stream: client wg0 → udp2tcp (client node, loopback) →
 * TCP over the underlay → tcp2udp (server node) → server wg0. Each pairing starts with fresh WireGuard devices
 * and keys, so the handshake itself crosses that pair.
 */
class MullvadWireGuardIT {
    static final int WG_PORT = 51820;
    static final int TUNNEL_PORT = 51821;
    static final int TCP_PORT = 7443;
    static SimulatedNetwork network;
    static SimulatedNode client;
    static SimulatedNode server;
    static MullvadUdpOverTcp mullvad;

    @BeforeAll
    static void start() {
        mullvad = MullvadUdpOverTcp.require();
        network = new SimulatedNetwork();
        client = network.addNode("tcp-client");
        server = network.addNode("server");
        client.blockUdp();
    }

    @AfterAll
    static void stop() {
        if (network != null) {
            network.close();
        }
    }

    @ParameterizedTest(name = "{0} udp2tcp -> {1} tcp2udp")
    @CsvSource({"mullvad, ours", "ours, mullvad", "ours, ours", "mullvad, mullvad"})
    void wireGuardHandshakesAndPingsThroughThePair(String udp2tcp, String tcp2udp) throws Exception {
        List<Process> proxies = new ArrayList<>();
        try {
            WireGuardKey clientKey = WireGuardKey.generatePrivate();
            WireGuardKey serverKey = WireGuardKey.generatePrivate();
            wireGuard(server, "10.99.0.2", serverKey, clientKey.publicKey(), "10.99.0.1/32", null);
            wireGuard(client, "10.99.0.1", clientKey, serverKey.publicKey(), "10.99.0.2/32", "127.0.0.1:" + TUNNEL_PORT);
            String serverTcp = server.underlayAddress() + ":" + TCP_PORT;
            String wg = "127.0.0.1:" + WG_PORT;
            proxies.add(start(server, tcp2udp.equals("ours")
                    ? ours("tcp2udp", "--tcp-listen", serverTcp, "--udp-forward", wg, "--udp-bind", "127.0.0.1")
                    : mullvad.tcp2udp(serverTcp, wg, "--nodelay", "--udp-bind", "127.0.0.1")));
            awaitListening(server, TCP_PORT);
            String tunnel = "127.0.0.1:" + TUNNEL_PORT;
            proxies.add(start(client, udp2tcp.equals("ours")
                    ? ours("udp2tcp", "--udp-listen", tunnel, "--tcp-forward", serverTcp)
                    : mullvad.udp2tcp(tunnel, serverTcp, "--nodelay")));
            awaitUdpBound(client, TUNNEL_PORT);

            SimulatedNode.PingResult ping = client.ping("10.99.0.2", 10);
            assertThat(ping.success()).as("ping through %s udp2tcp -> %s tcp2udp:%n%s", udp2tcp, tcp2udp, ping.output()).isTrue();
            // Full-size packets: 1,392 bytes of ICMP payload fill the 1,420-byte WireGuard MTU, not fragmented.
            SimulatedNode.ExecResult big = client.exec(Duration.ofSeconds(20), "ping", "-n", "-q", "-c", "5", "-i", "0.2",
                    "-W", "2", "-s", "1392", "-M", "do", "10.99.0.2");
            assertThat(big.ok()).as(big.output()).isTrue();
            var peer = new UapiClient(server.uapiSocket("wg0")).get().peers().get(clientKey.publicKey().toBase64());
            assertThat(peer.endpoint()).as("the server learned the client at its tcp2udp's UDP socket").startsWith("127.0.0.1:");
            System.out.printf("WireGuard through %s udp2tcp -> %s tcp2udp: 10 pings avg %.2f ms, 5 full-MTU pings ok%n",
                    udp2tcp, tcp2udp, ping.avgRttMillis().orElse(-1));
        } finally {
            for (Process p : proxies) {
                p.destroyForcibly();
                p.waitFor();
            }
            client.stopWireGuard();
            server.stopWireGuard();
        }
    }

    private static void wireGuard(SimulatedNode node, String address, WireGuardKey key, WireGuardKey peer, String allowed,
            String endpoint) throws IOException {
        node.startWireGuard("wg0");
        new UapiClient(node.uapiSocket("wg0")).set("private_key=" + key.toHex() + "\nlisten_port=" + WG_PORT + "\n"
                + "public_key=" + peer.toHex() + "\nallowed_ip=" + allowed + "\n"
                + (endpoint == null ? "" : "endpoint=" + endpoint + "\n"));
        check(node.exec("ip", "addr", "add", address + "/24", "dev", "wg0"));
        check(node.exec("ip", "link", "set", "wg0", "mtu", "1420", "up"));
    }

    /** Our proxy as a process, with the node proxy's JVM flags. */
    private static List<String> ours(String... args) {
        List<String> cmd = new ArrayList<>(NodeProxyProcess.javaCommand());
        cmd.add(ProxyMain.class.getName());
        cmd.addAll(List.of(args));
        return cmd;
    }

    private static Process start(SimulatedNode node, List<String> command) throws IOException {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", node.netns()));
        full.addAll(command);
        Path log = network.tempDir().resolve(node.name() + "-" + Path.of(command.get(0)).getFileName() + ".log");
        return new ProcessBuilder(full).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
    }

    private static void awaitListening(SimulatedNode node, int tcpPort) throws InterruptedException {
        awaitSocket(node, "-ltn", tcpPort);
    }

    private static void awaitUdpBound(SimulatedNode node, int udpPort) throws InterruptedException {
        awaitSocket(node, "-lun", udpPort);
    }

    private static void awaitSocket(SimulatedNode node, String ssFlags, int port) throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            if (node.exec("ss", "-H", ssFlags, "sport", "= :" + port).output().contains(":" + port)) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("nothing bound to port " + port + " in " + node.netns() + "; logs: " + logs());
    }

    private static String logs() {
        StringBuilder sb = new StringBuilder();
        try (var files = Files.list(network.tempDir())) {
            for (Path f : files.filter(f -> f.toString().endsWith(".log")).toList()) {
                sb.append('\n').append(f.getFileName()).append(": ").append(Files.readString(f).strip());
            }
        } catch (IOException e) {
            sb.append(e.getMessage());
        }
        return sb.toString();
    }

    private static void check(SimulatedNode.ExecResult r) {
        assertThat(r.ok()).as(r.output()).isTrue();
    }
}
