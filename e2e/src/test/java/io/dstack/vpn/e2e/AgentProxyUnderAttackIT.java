package io.dstack.vpn.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.testing.AgentProcess;
import io.dstack.vpn.testing.RealApiServer;
import io.dstack.vpn.testing.UdpEcho;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The node proxy runs inside the agent's JVM (ADR 0008), so its public port is now an attack surface of the
 * agent itself. The packaged agent with the image's JVM flags (agent-daemonset/jvm.options), the fake in-memory
 * device and a real API server; its peer set enables the proxy and names a UDP echo on loopback as this node's
 * WireGuard port. Under {@link ProxyAttack} (1,050 held hostile connections plus churn) the agent stays alive and
 * Ready, applies a revocation that arrives in the middle of the attack, and its proxy gets every datagram of a
 * well-behaved tunnel through.
 */
class AgentProxyUnderAttackIT {
    static final String NS = "agent-attack";
    static final String NET = "edge";
    static final Pattern GENERATION = Pattern.compile("(?m)^dstack_vpn_agent_applied_generation (\\d+)");

    UdpEcho wireGuard;
    AgentProcess agent;

    @AfterEach
    void stop() {
        if (agent != null) {
            agent.close();
        }
        if (wireGuard != null) {
            wireGuard.close();
        }
    }

    @Test
    void theAgentAppliesARevocationWhileItsProxyIsUnderAttack() throws Exception {
        KubernetesClient client = RealApiServer.get().client();
        client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();
        wireGuard = new UdpEcho();
        int proxyPort = freePort();
        List<PeerSet.Peer> peers = peers(200);
        writePeerSet(client, new PeerSet(NET, 1, "10.96.0.0/16", wireGuard.port(), 1420, "Mesh", null, proxyPort, peers));
        agent = AgentProcess.startMemory("node-self", NS, NET, Files.createTempDirectory("agent-attack-key"), "127.0.0.1:51820",
                java.util.Map.of(), imageJvmOptions());
        awaitMetrics(m -> generation(m) >= 1 && m.contains("dstack_vpn_proxy_connections_limit "), "the first peer set applied, proxy up");
        long idleRss = agent.rssKb();

        List<String> underAttack = new ArrayList<>();
        int roundTrips = new ProxyAttack(proxyPort).run((held, churned) -> {
            // A revocation arrives while every hostile connection is held and the churn goes on.
            long t0 = System.nanoTime();
            writePeerSet(client, new PeerSet(NET, 2, "10.96.0.0/16", wireGuard.port(), 1420, "Mesh", null, proxyPort,
                    peers.subList(0, peers.size() - 1)));
            awaitMetrics(m -> generation(m) >= 2, "the revocation applied during the attack");
            underAttack.add(String.format(Locale.ROOT, "revocation applied %.0f ms after the write, under attack (%d held, %d churned); "
                    + "agent RSS %d KiB idle, %d KiB under attack", (System.nanoTime() - t0) / 1e6, held, churned, idleRss, agent.rssKb()));
            assertThat(agent.metrics()).contains("dstack_vpn_proxy_connections_evicted_total");
        });
        underAttack.forEach(System.out::println);
        assertThat(agent.alive()).as("the agent survived; its log:%n%s", agent.log()).isTrue();
        assertThat(roundTrips).as("datagrams echoed through the agent's proxy during the attack").isEqualTo(400);
        assertThat(new ProxyAttack(proxyPort).tunnel(50)).isEqualTo(50);
        assertThat(agent.log()).doesNotContain("OutOfMemoryError");
        System.out.println("after the attack: agent RSS " + agent.rssKb() + " KiB; "
                + agent.metrics().lines().filter(l -> l.startsWith("dstack_vpn_proxy_connections")).toList());
    }

    /** The flags the agent image runs with, without its AOT cache (an image-build artefact). */
    static List<String> imageJvmOptions() throws IOException {
        return Files.readAllLines(RealApiServer.repoRoot().resolve("agent-daemonset/jvm.options")).stream().map(String::strip)
                .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
    }

    private void awaitMetrics(java.util.function.Predicate<String> ok, String what) throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            assertThat(agent.alive()).as("the agent is alive; its log:%n%s", agent.log()).isTrue();
            try {
                if (ok.test(agent.metrics())) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet, or busy: try again
            }
            Thread.sleep(20);
        }
        throw new AssertionError("timed out waiting for " + what + "; agent log:\n" + agent.log());
    }

    private static long generation(String metrics) {
        Matcher m = GENERATION.matcher(metrics);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    private static List<PeerSet.Peer> peers(int n) {
        List<PeerSet.Peer> peers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            peers.add(new PeerSet.Peer(String.format(Locale.ROOT, "node-%04d", i), WireGuardKey.generatePrivate().publicKey().toBase64(),
                    "10.96." + (i / 250) + "." + (i % 250 + 1), "198.18." + (i / 250) + "." + (i % 250 + 1) + ":51820", "UDP", null));
        }
        return peers;
    }

    private static void writePeerSet(KubernetesClient client, PeerSet set) {
        client.resource(new ConfigMapBuilder().withNewMetadata().withName(PeerSetCodec.configMapName(NET)).withNamespace(NS)
                .addToLabels(VpnLabels.NETWORK, NET).addToLabels(VpnLabels.COMPONENT, VpnLabels.COMPONENT_PEERSET).endMetadata()
                .addToData(PeerSetCodec.PEERS_KEY, PeerSetCodec.encode(set)).build()).inNamespace(NS).serverSideApply();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
