package io.dstack.vpn.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.dstack.vpn.agent.uapi.DeviceState;
import io.dstack.vpn.agent.uapi.UapiClient;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.testing.Anvil;

/**
 * Three simulated nodes (network namespaces on a bridge, wireguard-go each), one agent process per node, the
 * packaged operator, the real API server and a real chain (anvil) with our contract. Access is minted and
 * revoked on chain for the keys the agents generated. Checked with ping across the overlay and the devices'
 * own UAPI state.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AgentMeshIT {
    static final Duration WAIT = Duration.ofSeconds(90);
    static final List<String> NODES = List.of("node-a", "node-b", "node-c");
    static MeshFixture mesh;

    @BeforeAll
    static void start() throws Exception {
        mesh = MeshFixture.start(new MeshFixture.Options("agent-mesh", "mesh", "10.66.0.0/24", NODES, null, null, Set.of(), false));
    }

    @AfterAll
    static void stop() {
        if (mesh != null) {
            mesh.close();
        }
    }

    static DeviceState device(String nodeId) throws Exception {
        return new UapiClient(mesh.nodes.get(nodeId).uapiSocket("wg0")).get();
    }

    static void awaitApplied(String nodeId) {
        await().atMost(WAIT).ignoreExceptions().untilAsserted(() ->
                assertThat(mesh.peer(nodeId).getStatus().applied.generation).as("%s applied", nodeId).isEqualTo(mesh.generation()));
    }

    @Test
    @Order(1)
    void agentsPublishTheirKeysAndWaitForAToken() throws Exception {
        for (String id : NODES) {
            await().atMost(WAIT).ignoreExceptions().untilAsserted(() -> assertThat(mesh.peer(id).getStatus().reason).isEqualTo("NoToken"));
            Path keyFile = mesh.keys.resolve(id).resolve("private.key");
            assertThat(keyFile).exists();
            assertThat(Files.getPosixFilePermissions(keyFile)).hasSize(2);
            String privateKey = Files.readString(keyFile).strip();
            assertThat(mesh.client.getKubernetesSerialization().asJson(mesh.peer(id))).doesNotContain(privateKey);
            assertThat(mesh.agents.get(id).log()).doesNotContain(privateKey);
        }
    }

    @Test
    @Order(2)
    void mintedNodesPingEachOtherAcrossTheOverlay() throws Exception {
        NODES.forEach(mesh::grant);
        mesh.anvil.rpc("anvil_mine", "[\"0x1\"]");
        for (String id : NODES) {
            await().atMost(WAIT).untilAsserted(() -> assertThat(mesh.peer(id).getStatus().phase).isEqualTo(VpnPeerPhase.Active));
        }
        NODES.forEach(AgentMeshIT::awaitApplied);
        for (String from : NODES) {
            for (String to : NODES) {
                if (!from.equals(to)) {
                    var ping = mesh.nodes.get(from).ping(mesh.address(to), 3);
                    assertThat(ping.success()).as("%s -> %s: %s", from, to, ping.output()).isTrue();
                }
            }
        }
        await().atMost(WAIT).untilAsserted(() -> assertThat(mesh.network().getStatus().convergence.nodesApplied).isEqualTo(3));
        for (String id : NODES) {
            System.out.printf("agent %s RSS %d KiB (-Xmx96m, SerialGC); overlay ping a->b avg %s ms%n", id, mesh.agents.get(id).rssKb(),
                    mesh.nodes.get("node-a").ping(mesh.address("node-b"), 5).avgRttMillis());
        }
    }

    @Test
    @Order(3)
    void revokedNodeIsDroppedByTheOthersAndComesBackWhenRestored() throws Exception {
        String keyC = mesh.key("node-c");
        String addressC = mesh.address("node-c");
        mesh.writer(Anvil.PRIVATE_KEY_0).revoke(mesh.contract, mesh.tokens.get("node-c"));
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(mesh.hasPeer("node-a", keyC)).isFalse();
            assertThat(mesh.hasPeer("node-b", keyC)).isFalse();
        });
        assertThat(mesh.nodes.get("node-a").ping(addressC, 2).success()).as("traffic to the revoked node stops").isFalse();
        assertThat(mesh.nodes.get("node-a").ping(mesh.address("node-b"), 2).success()).as("the others still talk").isTrue();

        mesh.grant("node-c");
        mesh.anvil.rpc("anvil_mine", "[\"0x1\"]");
        await().atMost(WAIT).untilAsserted(() -> assertThat(mesh.hasPeer("node-a", keyC)).isTrue());
        await().atMost(WAIT).untilAsserted(() -> assertThat(mesh.nodes.get("node-a").ping(mesh.address("node-c"), 2).success()).isTrue());
    }

    @Test
    @Order(4)
    void agentRestartKeepsTheKeyAndTouchesNoUnchangedPeer() throws Exception {
        awaitApplied("node-a");
        String key = mesh.key("node-a");
        // Handshakes exist after the pings; re-adding a peer would reset its handshake time to 0.
        Map<String, Long> handshakes = new LinkedHashMap<>();
        device("node-a").peers().forEach((k, p) -> handshakes.put(k, p.lastHandshakeEpochSeconds()));
        assertThat(handshakes.values()).allMatch(t -> t > 0);

        mesh.restartAgent("node-a", () -> { });
        await().atMost(WAIT).ignoreExceptions().untilAsserted(() -> assertThat(mesh.agents.get("node-a").metrics())
                .contains("dstack_vpn_agent_applies_total 1"));
        assertThat(mesh.agents.get("node-a").metrics()).contains("dstack_vpn_agent_peer_changes_total 0");
        assertThat(mesh.key("node-a")).isEqualTo(key);
        Map<String, Long> after = new LinkedHashMap<>();
        device("node-a").peers().forEach((k, p) -> after.put(k, p.lastHandshakeEpochSeconds()));
        assertThat(after).isEqualTo(handshakes);
    }

    @Test
    @Order(5)
    void keyRotationSwapsTheKeyOnEveryNode() throws Exception {
        String oldKey = mesh.key("node-b");
        mesh.restartAgent("node-b", () -> Files.delete(mesh.keys.resolve("node-b").resolve("private.key"))); // a new key
        await().atMost(WAIT).untilAsserted(() -> assertThat(mesh.key("node-b")).isNotEqualTo(oldKey));
        String newKey = mesh.key("node-b");
        // The token still binds the old key: node-b is out until the holder binds the new one.
        await().atMost(WAIT).untilAsserted(() -> assertThat(mesh.peer("node-b").getStatus().reason).isEqualTo("KeyMismatch"));
        mesh.writer(Anvil.PRIVATE_KEY_1).updatePublicKey(mesh.contract, mesh.tokens.get("node-b"), newKey);
        mesh.anvil.rpc("anvil_mine", "[\"0x1\"]");
        for (String other : List.of("node-a", "node-c")) {
            await().atMost(WAIT).untilAsserted(() -> {
                assertThat(mesh.hasPeer(other, newKey)).isTrue();
                assertThat(mesh.hasPeer(other, oldKey)).isFalse();
            });
        }
        await().atMost(WAIT).untilAsserted(() -> assertThat(mesh.nodes.get("node-a").ping(mesh.address("node-b"), 2).success()).isTrue());
        assertThat(mesh.peer("node-b").getStatus().phase).isEqualTo(VpnPeerPhase.Active);
        VpnPeer b = mesh.peer("node-b");
        assertThat(b.getSpec().publicKey).isEqualTo(newKey);
    }
}
