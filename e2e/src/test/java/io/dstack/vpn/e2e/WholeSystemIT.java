package io.dstack.vpn.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.v1alpha1.ChainAccess;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.testing.Anvil;
import io.dstack.vpn.testing.RealApiServer;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

/**
 * The whole system under faults, on real components: the real API server, anvil producing a block every 2 s with
 * our contract, the packaged operator (reading the chain through a relay the test can cut), three simulated nodes
 * with wireguard-go and their agents, one of them (node-c) with UDP dropped so it goes through the proxies.
 * "Cut" and "back" are read from each node's WireGuard device (UAPI) and checked with ping.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WholeSystemIT {
    static final List<String> NODES = List.of("node-a", "node-b", "node-c");
    static final String TCP_NODE = "node-c";
    static final Duration WAIT = Duration.ofSeconds(90);
    static MeshFixture mesh;

    @BeforeAll
    static void start() throws Exception {
        mesh = MeshFixture.start(new MeshFixture.Options("whole-system", "wsys", "10.68.0.0/24", NODES, 2, 8443, Set.of(TCP_NODE), true));
    }

    @AfterAll
    static void stop() {
        if (mesh != null) {
            mesh.close();
        }
    }

    // --- helpers --------------------------------------------------------------------------------------------

    static void setOnTransfer(ChainAccess.OnTransfer policy) {
        mesh.client.resources(VpnNetwork.class).inNamespace("whole-system").withName("wsys").patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"spec\":{\"access\":{\"chain\":{\"onTransfer\":\"" + policy + "\"}}}}");
    }

    /** Watches, every 50 ms, that node-a and node-c keep each other: a flap of an unaffected pair is a failure. */
    static final class FlapWatch implements AutoCloseable {
        final List<String> flaps = new CopyOnWriteArrayList<>();
        final AtomicBoolean running = new AtomicBoolean(true);
        final Thread thread;

        FlapWatch(String x, String y) {
            String kx = mesh.key(x);
            String ky = mesh.key(y);
            thread = Thread.ofVirtual().start(() -> {
                while (running.get()) {
                    try {
                        if (!mesh.hasPeer(x, ky)) {
                            flaps.add(x + " lost " + y + " at " + System.currentTimeMillis());
                        }
                        if (!mesh.hasPeer(y, kx)) {
                            flaps.add(y + " lost " + x + " at " + System.currentTimeMillis());
                        }
                        Thread.sleep(50);
                    } catch (Exception e) {
                        flaps.add("could not read a device: " + e.getMessage());
                    }
                }
            });
        }

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            thread.join();
        }
    }

    // --- scenarios ------------------------------------------------------------------------------------------

    @Test
    @Order(1)
    void grantGivesConnectivityIncludingTheUdpBlockedNodeThroughTheProxy() throws Exception {
        mesh.admitAll();
        NODES.forEach(mesh::awaitIn);
    }

    @Test
    @Order(2)
    void revokeCutsTheNodeOnEveryOtherNode() throws Exception {
        String keyB = mesh.key("node-b");
        mesh.writer(Anvil.PRIVATE_KEY_0).revoke(mesh.contract, mesh.tokens.get("node-b"));
        mesh.awaitCut("node-b", keyB);
        assertThat(mesh.nodes.get("node-a").ping(mesh.address(TCP_NODE), 2).success()).as("the others still talk").isTrue();
        mesh.grant("node-b");
        mesh.awaitIn("node-b");
    }

    @Test
    @Order(3)
    void transferFollowsEachPolicyOnTheDataPlane() throws Exception {
        String keyC = mesh.key(TCP_NODE);
        mesh.writer(Anvil.PRIVATE_KEY_1).transfer(mesh.contract, Anvil.ACCOUNT_1, Anvil.ACCOUNT_2, mesh.tokens.get(TCP_NODE));
        mesh.awaitCut(TCP_NODE, keyC); // default policy: Revoke
        setOnTransfer(ChainAccess.OnTransfer.Keep);
        mesh.awaitIn(TCP_NODE);
        setOnTransfer(ChainAccess.OnTransfer.Suspend);
        mesh.awaitCut(TCP_NODE, keyC);
        await().atMost(WAIT).untilAsserted(() -> assertThat(mesh.peer(TCP_NODE).getStatus().phase).isEqualTo(VpnPeerPhase.Suspended));
        // The new owner binds the key again: access resumes.
        mesh.writer(Anvil.PRIVATE_KEY_2).updatePublicKey(mesh.contract, mesh.tokens.get(TCP_NODE), keyC);
        mesh.awaitIn(TCP_NODE);
        setOnTransfer(ChainAccess.OnTransfer.Revoke);
        mesh.awaitCut(TCP_NODE, keyC);
        setOnTransfer(ChainAccess.OnTransfer.Keep); // back in for the next scenarios
        mesh.awaitIn(TCP_NODE);
    }

    @Test
    @Order(4)
    void keyRotationSwapsTheKeyOnEveryNode() throws Exception {
        String oldKey = mesh.key("node-b");
        mesh.restartAgent("node-b", () -> Files.delete(mesh.keys.resolve("node-b").resolve("private.key"))); // a new key
        await().atMost(WAIT).untilAsserted(() -> assertThat(mesh.key("node-b")).isNotEqualTo(oldKey));
        String newKey = mesh.key("node-b");
        mesh.writer(Anvil.PRIVATE_KEY_1).updatePublicKey(mesh.contract, mesh.tokens.get("node-b"), newKey);
        mesh.awaitIn("node-b");
        for (String other : List.of("node-a", TCP_NODE)) {
            assertThat(mesh.hasPeer(other, oldKey)).as("%s forgot the old key", other).isFalse();
        }
    }

    @Test
    @Order(5)
    void operatorKilledMidStreamMissesNothingAndFlapsNothing() throws Exception {
        String keyB = mesh.key("node-b");
        try (FlapWatch watch = new FlapWatch("node-a", TCP_NODE)) {
            // The revoke is in the mempool when the operator dies; the block that carries it comes while it is down.
            Thread revoke = Thread.ofVirtual().start(() -> mesh.writer(Anvil.PRIVATE_KEY_0).revoke(mesh.contract, mesh.tokens.get("node-b")));
            mesh.killOperator(() -> {
                revoke.join();
                assertThat(mesh.hasPeer("node-a", keyB)).as("nothing changes while the operator is down").isTrue();
            });
            mesh.awaitCut("node-b", keyB);
            watch.close();
            assertThat(watch.flaps).as("the unaffected pair never lost each other").isEmpty();
        }
        assertThat(mesh.peer("node-a").getStatus().phase).isEqualTo(VpnPeerPhase.Active);
        assertThat(mesh.operator().log()).as("resumed from the checkpoint, not from genesis").contains("resuming from checkpoint block");
        mesh.grant("node-b");
        mesh.awaitIn("node-b");
    }

    @Test
    @Order(6)
    void aRevokeDuringASixtySecondRpcOutageIsEnforcedAfterRecovery() throws Exception {
        String keyC = mesh.key(TCP_NODE);
        mesh.rpcRelay.cut();
        long outageStart = System.nanoTime();
        mesh.writer(Anvil.PRIVATE_KEY_0).revoke(mesh.contract, mesh.tokens.get(TCP_NODE)); // straight to the chain, not through the relay
        await().atMost(WAIT).untilAsserted(() -> assertThat(mesh.network().getStatus().conditions)
                .anySatisfy(c -> {
                    assertThat(c.getType()).isEqualTo(Conditions.CHAIN_REACHABLE);
                    assertThat(c.getStatus()).isEqualTo("False");
                    assertThat(c.getMessage()).contains("keeping the last known access state");
                }));
        assertThat(mesh.hasPeer("node-a", keyC)).as("last known state kept during the outage").isTrue();
        Thread.sleep(Math.max(0, Duration.ofSeconds(60).toMillis() - (System.nanoTime() - outageStart) / 1_000_000));
        assertThat(mesh.hasPeer("node-a", keyC)).as("still the last known state after 60 s").isTrue();
        mesh.rpcRelay.restore();
        mesh.awaitCut(TCP_NODE, keyC);
        await().atMost(WAIT).untilAsserted(() -> assertThat(mesh.network().getStatus().conditions)
                .anySatisfy(c -> {
                    assertThat(c.getType()).isEqualTo(Conditions.CHAIN_REACHABLE);
                    assertThat(c.getStatus()).isEqualTo("True");
                }));
        mesh.grant(TCP_NODE);
        mesh.awaitIn(TCP_NODE);
    }

    @Test
    @Order(7)
    void aReorgThatRemovesARevokeBringsTheNodeBack() throws Exception {
        String keyB = mesh.key("node-b");
        long revokeBlock = mesh.writer(Anvil.PRIVATE_KEY_0).revoke(mesh.contract, mesh.tokens.get("node-b")).block();
        mesh.awaitCut("node-b", keyB);
        // Blocks keep coming every 2 s: roll back to just below the one that carried the revoke.
        String head = mesh.anvil.rpc("eth_blockNumber", "[]").replaceAll(".*\"result\":\"0x([0-9a-f]+)\".*", "$1").strip();
        long depth = Long.parseLong(head, 16) - revokeBlock + 1;
        mesh.anvil.rpc("anvil_rollback", "[" + depth + "]");
        mesh.awaitIn("node-b");
        assertThat(mesh.peer("node-b").getStatus().phase).isEqualTo(VpnPeerPhase.Active);
    }

    @Test
    @Order(8)
    void anApiServerRestartKeepsTheDataPlaneAndTheControlPlaneResumes() throws Exception {
        String keyC = mesh.key(TCP_NODE);
        try (FlapWatch watch = new FlapWatch("node-a", "node-b")) {
            RealApiServer.get().restartApiServer(Duration.ofSeconds(5));
            assertThat(mesh.nodes.get("node-a").ping(mesh.address("node-b"), 2).success()).as("the data plane never needed the API server").isTrue();
            mesh.writer(Anvil.PRIVATE_KEY_0).revoke(mesh.contract, mesh.tokens.get(TCP_NODE));
            mesh.awaitCut(TCP_NODE, keyC);
            watch.close();
            assertThat(watch.flaps).isEmpty();
        }
    }
}
