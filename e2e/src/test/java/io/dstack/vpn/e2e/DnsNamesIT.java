package io.dstack.vpn.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.dstack.vpn.testing.Anvil;
import io.dstack.vpn.testing.SimulatedNode;

/**
 * Issue 18, DNS names (ADR 0016), on the mesh of real components ({@link MeshFixture}: the real API server, anvil
 * with our contract, the packaged operator, wireguard-go in network namespaces, one agent JVM per node with its
 * DNS relay inside the node's namespace). A real resolver, dig, asks from inside the nodes: every member's name
 * {@code <nodeId>.mesh.vpn.internal} is its overlay address, on every node's own overlay address, on another node's
 * over the tunnel, and on the underlay; a revoked node's name is NXDOMAIN as soon as its peer is gone from the
 * others' devices (both times printed), and resolves again after a new grant.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DnsNamesIT {
    static final List<String> NODES = List.of("node-a", "node-b", "node-c");
    static final String ZONE = "mesh.vpn.internal";
    static final int PORT = 1053;
    static MeshFixture mesh;

    @BeforeAll
    static void start() throws Exception {
        mesh = MeshFixture.start(new MeshFixture.Options("dns-names", "mesh", "10.67.0.0/24", NODES, null, null, Set.of(), false));
        // A missing dig fails here, loudly (hack/install-wireguard.sh installs it), rather than skipping the test.
        SimulatedNode.ExecResult version = mesh.nodes.get("node-a").exec("dig", "-v");
        assertThat(version.ok()).as("dig is needed inside the namespaces (hack/install-wireguard.sh installs bind9-dnsutils): %s",
                version.output()).isTrue();
    }

    @AfterAll
    static void stop() {
        if (mesh != null) {
            mesh.close();
        }
    }

    /** dig's answer and status for {@code name} asked from {@code onNode} at {@code server}. */
    record Dig(String status, String answer, String output) {
    }

    static Dig dig(String onNode, String server, String name) {
        SimulatedNode.ExecResult r = mesh.nodes.get(onNode).exec(Duration.ofSeconds(10), "dig", "@" + server, "-p", Integer.toString(PORT),
                name, "A", "+tries=1", "+time=2", "+noall", "+comments", "+answer", "+authority");
        String status = r.output().lines().filter(l -> l.contains("status: ")).map(l -> l.replaceFirst(".*status: ([A-Z]+).*", "$1"))
                .findFirst().orElse("no answer");
        String answer = r.output().lines().filter(l -> !l.startsWith(";") && l.contains("\tA\t"))
                .map(l -> l.substring(l.lastIndexOf('\t') + 1).strip()).findFirst().orElse("");
        return new Dig(status, answer, r.output());
    }

    @Test
    @Order(1)
    void everyMemberResolvesOnEveryNodeOverTheOverlayAndTheUnderlay() throws Exception {
        mesh.admitAll();
        for (String from : NODES) {
            for (String to : NODES) {
                String own = mesh.address(from);
                // From inside `from`: its own agent's DNS, on its overlay address (its own name too).
                await().atMost(MeshFixture.WAIT).untilAsserted(() -> {
                    Dig d = dig(from, own, to + "." + ZONE);
                    assertThat(d.answer()).as("%s asks %s for %s:%n%s", from, own, to, d.output()).isEqualTo(mesh.address(to));
                });
            }
        }
        // Another node's DNS, over the tunnel (the overlay) and over the underlay: the same answers, case folded.
        await().atMost(MeshFixture.WAIT).untilAsserted(() ->
                assertThat(dig("node-a", mesh.address("node-b"), "Node-C.MESH." + ZONE.substring(5)).answer()).isEqualTo(mesh.address("node-c")));
        assertThat(dig("node-a", mesh.nodes.get("node-c").underlayAddress(), "node-b." + ZONE).answer()).isEqualTo(mesh.address("node-b"));
        Dig unknown = dig("node-a", mesh.address("node-a"), "node-z." + ZONE);
        assertThat(unknown.status()).as(unknown.output()).isEqualTo("NXDOMAIN");
        assertThat(unknown.output()).as("the negative answer carries the SOA").contains("IN\tSOA\tns." + ZONE);
        assertThat(dig("node-a", mesh.address("node-a"), "example.com").status()).as("no resolver for the world").isEqualTo("REFUSED");
    }

    @Test
    @Order(2)
    void aRevokedNodesNameGoesWithItsPeerAndComesBackWithANewGrant() throws Exception {
        String keyB = mesh.key("node-b");
        String addressB = mesh.address("node-b");
        String server = mesh.address("node-a");
        assertThat(dig("node-a", server, "node-b." + ZONE).answer()).isEqualTo(addressB);
        AtomicLong peerGone = new AtomicLong();
        long revoked = System.nanoTime();
        mesh.writer(Anvil.PRIVATE_KEY_0).revoke(mesh.contract, mesh.tokens.get("node-b"));
        long mined = System.nanoTime();
        // Two watchers on node-a: its device (UAPI, every 10 ms) and its DNS (dig, back to back).
        Thread devicePoll = Thread.ofVirtual().start(() -> {
            while (peerGone.get() == 0 && System.nanoTime() - revoked < MeshFixture.WAIT.toNanos()) {
                try {
                    if (!mesh.hasPeer("node-a", keyB)) {
                        peerGone.set(System.nanoTime());
                    }
                    Thread.sleep(10);
                } catch (Exception e) {
                    return;
                }
            }
        });
        // A dig's answer shows the server's state at some moment between the dig's start and its end: the name went
        // after the start of the last dig that still got it, and before the end of the first that got NXDOMAIN.
        long lastFoundStart = mined;
        long nameGoneBy = 0;
        int digs = 0;
        while (nameGoneBy == 0 && System.nanoTime() - revoked < MeshFixture.WAIT.toNanos()) {
            long start = System.nanoTime();
            String status = dig("node-a", server, "node-b." + ZONE).status();
            digs++;
            if (status.equals("NXDOMAIN")) {
                nameGoneBy = System.nanoTime();
            } else if (status.equals("NOERROR")) {
                lastFoundStart = start;
            }
        }
        devicePoll.join(MeshFixture.WAIT.toMillis());
        assertThat(nameGoneBy).as("node-b's name never became NXDOMAIN on node-a").isPositive();
        assertThat(peerGone.get()).as("node-a never dropped node-b's peer").isPositive();
        long peerMs = (peerGone.get() - mined) / 1_000_000;
        System.out.printf("revocation (sent -> mined %d ms): on node-a, node-b's peer gone by +%d ms after the receipt; its name NXDOMAIN "
                + "between +%d and +%d ms (%d digs, %d ms each on average)%n", (mined - revoked) / 1_000_000, peerMs,
                (lastFoundStart - mined) / 1_000_000, (nameGoneBy - mined) / 1_000_000, digs, (nameGoneBy - mined) / 1_000_000 / digs);
        // The name comes from the set the agent applies, which the watcher holds before the apply starts: no dig that
        // began after the peer was gone may still find the name (100 ms for the device poll's own lag).
        assertThat((lastFoundStart - peerGone.get()) / 1_000_000).as("ms the name was still answered after the peer was gone")
                .isLessThanOrEqualTo(100);
        assertThat(dig("node-c", mesh.address("node-c"), "node-b." + ZONE).status()).as("on node-c too").isEqualTo("NXDOMAIN");

        mesh.grant("node-b");
        mesh.anvil.rpc("anvil_mine", "[\"0x1\"]");
        await().atMost(MeshFixture.WAIT).untilAsserted(() -> assertThat(dig("node-a", server, "node-b." + ZONE).answer())
                .isEqualTo(mesh.address("node-b")));
        assertThat(mesh.address("node-b")).as("IPAM keeps the address (ADR 0003)").isEqualTo(addressB);
    }

    @Test
    @Order(3)
    void theAgentsCountWhatTheyAnswered() throws Exception {
        String metrics = mesh.agents.get("node-a").metrics();
        assertThat(metrics).contains("dstack_vpn_agent_dns_up 1");
        assertThat(metrics).containsPattern("dstack_vpn_agent_dns_queries_total\\{rcode=\"NOERROR\"} [1-9]");
        assertThat(metrics).containsPattern("dstack_vpn_agent_dns_queries_total\\{rcode=\"NXDOMAIN\"} [1-9]");
        assertThat(metrics).containsPattern("dstack_vpn_agent_dns_queries_total\\{rcode=\"REFUSED\"} [1-9]");
    }
}
