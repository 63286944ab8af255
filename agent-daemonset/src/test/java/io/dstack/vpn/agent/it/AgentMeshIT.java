package io.dstack.vpn.agent.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.dstack.vpn.agent.uapi.DeviceState;
import io.dstack.vpn.agent.uapi.UapiClient;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.chain.contract.ContractArtifact;
import io.dstack.vpn.chain.contract.ContractWriter;
import io.dstack.vpn.chain.rpc.RpcClient;
import io.dstack.vpn.chain.rpc.RpcListener;
import io.dstack.vpn.testing.AgentProcess;
import io.dstack.vpn.testing.Anvil;
import io.dstack.vpn.testing.OperatorProcess;
import io.dstack.vpn.testing.RealApiServer;
import io.dstack.vpn.testing.TestResources;
import io.dstack.vpn.testing.SimulatedNetwork;
import io.dstack.vpn.testing.SimulatedNode;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * Three simulated nodes (network namespaces on a bridge, wireguard-go each), one agent process per node, the
 * packaged operator, the real API server and a real chain (anvil) with our contract. Access is minted and
 * revoked on chain for the keys the agents generated. Checked with ping across the overlay and the devices'
 * own UAPI state.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AgentMeshIT {
    static final String NS = "agent-mesh";
    static final String NET = "mesh";
    static final Duration WAIT = Duration.ofSeconds(90);
    static final List<String> NODES = List.of("node-a", "node-b", "node-c");

    static KubernetesClient client;
    static Anvil anvil;
    static ContractWriter admin;
    static String contract;
    static OperatorProcess operator;
    static SimulatedNetwork net;
    static Path keys;
    static final Map<String, SimulatedNode> nodes = new LinkedHashMap<>();
    static final Map<String, AgentProcess> agents = new LinkedHashMap<>();
    static final Map<String, BigInteger> tokens = new LinkedHashMap<>();

    @BeforeAll
    static void start() throws Exception {
        anvil = Anvil.start(Anvil.Options.defaults());
        admin = new ContractWriter(RpcClient.of(List.of(anvil.rpcUrl()), RpcListener.NONE), Anvil.PRIVATE_KEY_0, Anvil.BASE_CHAIN_ID,
                Duration.ofSeconds(30));
        contract = admin.deploy(ContractArtifact.bytecode(RealApiServer.repoRoot())).contractAddress();
        client = RealApiServer.get().client();
        client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();
        operator = OperatorProcess.start(RealApiServer.get().kubeconfig(), NS);

        VpnNetwork n = TestResources.chainNetwork(NET, "10.66.0.0/24", anvil.rpcUrl(), contract, 1, "200ms");
        client.resource(n).inNamespace(NS).create();

        net = new SimulatedNetwork();
        keys = Files.createTempDirectory("dstack-vpn-keys");
        for (String id : NODES) {
            SimulatedNode node = net.addNode(id.substring(5));
            node.startWireGuard("wg0");
            nodes.put(id, node);
            agents.put(id, AgentProcess.start(node, id, NS, NET, keys.resolve(id)));
        }
    }

    @AfterAll
    static void stop() {
        agents.values().forEach(AgentProcess::close);
        if (net != null) {
            net.close();
        }
        if (operator != null) {
            operator.close();
        }
        if (anvil != null) {
            anvil.close();
        }
    }

    static VpnPeer peer(String nodeId) {
        return client.resources(VpnPeer.class).inNamespace(NS).withName(NET + "-" + nodeId).get();
    }

    static String address(String nodeId) {
        return peer(nodeId).getStatus().address;
    }

    static DeviceState device(String nodeId) throws Exception {
        return new UapiClient(nodes.get(nodeId).uapiSocket("wg0")).get();
    }

    static long generation() {
        var cm = client.configMaps().inNamespace(NS).withName(PeerSetCodec.configMapName(NET)).get();
        return PeerSetCodec.decode(cm.getData().get(PeerSetCodec.PEERS_KEY)).generation();
    }

    static void awaitApplied(String nodeId) {
        await().atMost(WAIT).untilAsserted(() -> {
            VpnPeer p = peer(nodeId);
            assertThat(p.getStatus().applied).as("%s applied", nodeId).isNotNull();
            assertThat(p.getStatus().applied.generation).isEqualTo(generation());
        });
    }

    static void mint(String nodeId) {
        tokens.put(nodeId, admin.mint(contract, Anvil.ACCOUNT_1, nodeId, peer(nodeId).getSpec().publicKey, "").mintedTokenId());
    }

    @Test
    @Order(1)
    void agentsPublishTheirKeysAndWaitForAToken() throws Exception {
        for (String id : NODES) {
            await().atMost(WAIT).untilAsserted(() -> {
                VpnPeer p = peer(id);
                assertThat(p).as(id).isNotNull();
                assertThat(p.getStatus()).isNotNull();
                assertThat(p.getStatus().reason).isEqualTo("NoToken");
            });
            Path keyFile = keys.resolve(id).resolve("private.key");
            assertThat(keyFile).exists();
            assertThat(Files.getPosixFilePermissions(keyFile)).hasSize(2);
            String privateKey = Files.readString(keyFile).strip();
            assertThat(client.getKubernetesSerialization().asJson(peer(id))).doesNotContain(privateKey);
            assertThat(agents.get(id).log()).doesNotContain(privateKey);
        }
    }

    @Test
    @Order(2)
    void mintedNodesPingEachOtherAcrossTheOverlay() throws Exception {
        NODES.forEach(AgentMeshIT::mint);
        anvil.rpc("anvil_mine", "[\"0x1\"]");
        for (String id : NODES) {
            await().atMost(WAIT).untilAsserted(() -> assertThat(peer(id).getStatus().phase).isEqualTo(VpnPeerPhase.Active));
        }
        NODES.forEach(AgentMeshIT::awaitApplied);
        for (String from : NODES) {
            for (String to : NODES) {
                if (!from.equals(to)) {
                    var ping = nodes.get(from).ping(address(to), 3);
                    assertThat(ping.success()).as("%s -> %s: %s", from, to, ping.output()).isTrue();
                }
            }
        }
        await().atMost(WAIT).untilAsserted(() -> assertThat(client.resources(VpnNetwork.class).inNamespace(NS).withName(NET).get()
                .getStatus().convergence.nodesApplied).isEqualTo(3));
        for (String id : NODES) {
            System.out.printf("agent %s RSS %d KiB (-Xmx96m, SerialGC); overlay ping a->b avg %s ms%n", id, agents.get(id).rssKb(),
                    nodes.get("node-a").ping(address("node-b"), 5).avgRttMillis());
        }
    }

    @Test
    @Order(3)
    void revokedNodeIsDroppedByTheOthersAndComesBackWhenRestored() throws Exception {
        String keyC = peer("node-c").getSpec().publicKey;
        String addressC = address("node-c");
        admin.revoke(contract, tokens.get("node-c"));
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(device("node-a").peers()).doesNotContainKey(keyC);
            assertThat(device("node-b").peers()).doesNotContainKey(keyC);
        });
        assertThat(nodes.get("node-a").ping(addressC, 2).success()).as("traffic to the revoked node stops").isFalse();
        assertThat(nodes.get("node-a").ping(address("node-b"), 2).success()).as("the others still talk").isTrue();

        mint("node-c");
        anvil.rpc("anvil_mine", "[\"0x1\"]");
        await().atMost(WAIT).untilAsserted(() -> assertThat(device("node-a").peers()).containsKey(keyC));
        await().atMost(WAIT).untilAsserted(() -> assertThat(nodes.get("node-a").ping(address("node-c"), 2).success()).isTrue());
    }

    @Test
    @Order(4)
    void agentRestartKeepsTheKeyAndTouchesNoUnchangedPeer() throws Exception {
        awaitApplied("node-a");
        String key = peer("node-a").getSpec().publicKey;
        // Handshakes exist after the pings; re-adding a peer would reset its handshake time to 0.
        Map<String, Long> handshakes = new LinkedHashMap<>();
        device("node-a").peers().forEach((k, p) -> handshakes.put(k, p.lastHandshakeEpochSeconds()));
        assertThat(handshakes.values()).allMatch(t -> t > 0);

        agents.get("node-a").close();
        agents.put("node-a", AgentProcess.start(nodes.get("node-a"), "node-a", NS, NET, keys.resolve("node-a")));
        await().atMost(WAIT).ignoreExceptions().untilAsserted(() -> assertThat(agents.get("node-a").metrics()).contains("dstack_vpn_agent_applies_total 1"));
        assertThat(agents.get("node-a").metrics()).contains("dstack_vpn_agent_peer_changes_total 0");
        assertThat(peer("node-a").getSpec().publicKey).isEqualTo(key);
        Map<String, Long> after = new LinkedHashMap<>();
        device("node-a").peers().forEach((k, p) -> after.put(k, p.lastHandshakeEpochSeconds()));
        assertThat(after).isEqualTo(handshakes);
    }

    @Test
    @Order(5)
    void keyRotationSwapsTheKeyOnEveryNode() throws Exception {
        String oldKey = peer("node-b").getSpec().publicKey;
        agents.get("node-b").close();
        Files.delete(keys.resolve("node-b").resolve("private.key")); // the node gets a new key
        agents.put("node-b", AgentProcess.start(nodes.get("node-b"), "node-b", NS, NET, keys.resolve("node-b")));
        await().atMost(WAIT).untilAsserted(() -> assertThat(peer("node-b").getSpec().publicKey).isNotEqualTo(oldKey));
        String newKey = peer("node-b").getSpec().publicKey;
        // The token still binds the old key: node-b is out until the holder binds the new one.
        await().atMost(WAIT).untilAsserted(() -> assertThat(peer("node-b").getStatus().reason).isEqualTo("KeyMismatch"));
        new ContractWriter(RpcClient.of(List.of(anvil.rpcUrl()), RpcListener.NONE), Anvil.PRIVATE_KEY_1, Anvil.BASE_CHAIN_ID,
                Duration.ofSeconds(30)).updatePublicKey(contract, tokens.get("node-b"), newKey);
        anvil.rpc("anvil_mine", "[\"0x1\"]");
        for (String other : List.of("node-a", "node-c")) {
            await().atMost(WAIT).untilAsserted(() -> {
                assertThat(device(other).peers()).containsKey(newKey).doesNotContainKey(oldKey);
            });
        }
        await().atMost(WAIT).untilAsserted(() -> assertThat(nodes.get("node-a").ping(address("node-b"), 2).success()).isTrue());
    }
}
