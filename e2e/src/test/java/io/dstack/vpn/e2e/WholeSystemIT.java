package io.dstack.vpn.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.dstack.vpn.agent.uapi.UapiClient;
import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.v1alpha1.ChainAccess;
import io.dstack.vpn.api.v1alpha1.ProxySpec;
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
import io.dstack.vpn.testing.SimulatedNetwork;
import io.dstack.vpn.testing.SimulatedNode;
import io.dstack.vpn.testing.TcpRelay;
import io.dstack.vpn.testing.TestResources;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
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
    static final String NS = "whole-system";
    static final String NET = "wsys";
    static final List<String> NODES = List.of("node-a", "node-b", "node-c");
    static final String TCP_NODE = "node-c";
    static final Duration WAIT = Duration.ofSeconds(90);

    static KubernetesClient client;
    static Anvil anvil;
    static TcpRelay rpcRelay;
    static String contract;
    static OperatorProcess operator;
    static SimulatedNetwork net;
    static Path keys;
    static final Map<String, SimulatedNode> nodes = new LinkedHashMap<>();
    static final Map<String, AgentProcess> agents = new LinkedHashMap<>();
    static final Map<String, BigInteger> tokens = new LinkedHashMap<>();

    @BeforeAll
    static void start() throws Exception {
        anvil = Anvil.start(Anvil.Options.defaults().withBlockTime(2));
        rpcRelay = new TcpRelay(anvil.port());
        contract = writer(Anvil.PRIVATE_KEY_0).deploy(ContractArtifact.bytecode(RealApiServer.repoRoot())).contractAddress();
        client = RealApiServer.get().client();
        client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();
        operator = OperatorProcess.start(RealApiServer.get().kubeconfig(), NS);
        VpnNetwork n = TestResources.chainNetwork(NET, "10.68.0.0/24", rpcRelay.httpUrl(), contract, 1, "200ms");
        n.getSpec().proxy = new ProxySpec();
        n.getSpec().proxy.enabled = true;
        n.getSpec().proxy.port = 8443;
        client.resource(n).inNamespace(NS).create();

        net = new SimulatedNetwork();
        keys = Files.createTempDirectory("dstack-vpn-keys");
        for (String id : NODES) {
            SimulatedNode node = net.addNode(id.substring(5));
            node.startWireGuard("wg0");
            nodes.put(id, node);
            agents.put(id, startAgent(id));
        }
        nodes.get(TCP_NODE).blockUdp();
    }

    static AgentProcess startAgent(String id) throws Exception {
        return AgentProcess.start(nodes.get(id), id, NS, NET, keys.resolve(id), id.equals(TCP_NODE) ? Map.of("TRANSPORT", "TCP") : Map.of());
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
        if (rpcRelay != null) {
            rpcRelay.close();
        }
        if (anvil != null) {
            anvil.close();
        }
    }

    // --- helpers --------------------------------------------------------------------------------------------

    static ContractWriter writer(String privateKey) {
        return new ContractWriter(RpcClient.of(List.of(anvil.rpcUrl()), RpcListener.NONE), privateKey, Anvil.BASE_CHAIN_ID,
                Duration.ofSeconds(30));
    }

    static VpnPeer peer(String nodeId) {
        return client.resources(VpnPeer.class).inNamespace(NS).withName(NET + "-" + nodeId).get();
    }

    static VpnNetwork network() {
        return client.resources(VpnNetwork.class).inNamespace(NS).withName(NET).get();
    }

    static String key(String nodeId) {
        return peer(nodeId).getSpec().publicKey;
    }

    static String address(String nodeId) {
        return peer(nodeId).getStatus().address;
    }

    static boolean hasPeer(String onNode, String key) throws Exception {
        return new UapiClient(nodes.get(onNode).uapiSocket("wg0")).get().peers().containsKey(key);
    }

    static void grant(String nodeId) {
        tokens.put(nodeId, writer(Anvil.PRIVATE_KEY_0).mint(contract, Anvil.ACCOUNT_1, nodeId, key(nodeId), "").mintedTokenId());
    }

    /** Every other node holds {@code nodeId}'s key and pings it across the overlay. */
    static void awaitIn(String nodeId) {
        String k = key(nodeId);
        for (String other : NODES) {
            if (!other.equals(nodeId)) {
                await().atMost(WAIT).ignoreExceptions().untilAsserted(() -> assertThat(hasPeer(other, k)).as("%s has %s", other, nodeId).isTrue());
                await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                    var ping = nodes.get(other).ping(address(nodeId), 2);
                    assertThat(ping.success()).as("%s -> %s: %s", other, nodeId, ping.output()).isTrue();
                });
            }
        }
    }

    /** No other node holds {@code key} any more, and pings to the node go unanswered. */
    static void awaitCut(String nodeId, String k) {
        String addr = address(nodeId);
        for (String other : NODES) {
            if (!other.equals(nodeId)) {
                await().atMost(WAIT).ignoreExceptions().untilAsserted(() -> assertThat(hasPeer(other, k)).as("%s dropped %s", other, nodeId).isFalse());
                assertThat(nodes.get(other).ping(addr, 2).success()).as("%s -> %s is cut", other, nodeId).isFalse();
            }
        }
    }

    static void setOnTransfer(ChainAccess.OnTransfer policy) {
        client.resources(VpnNetwork.class).inNamespace(NS).withName(NET).patch(PatchContext.of(PatchType.JSON_MERGE),
                "{\"spec\":{\"access\":{\"chain\":{\"onTransfer\":\"" + policy + "\"}}}}");
    }

    /** Watches, every 50 ms, that node-a and node-c keep each other: a flap of an unaffected pair is a failure. */
    static final class FlapWatch implements AutoCloseable {
        final List<String> flaps = new CopyOnWriteArrayList<>();
        final AtomicBoolean running = new AtomicBoolean(true);
        final Thread thread;

        FlapWatch(String x, String y) {
            String kx = key(x);
            String ky = key(y);
            thread = Thread.ofVirtual().start(() -> {
                while (running.get()) {
                    try {
                        if (!hasPeer(x, ky)) {
                            flaps.add(x + " lost " + y + " at " + System.currentTimeMillis());
                        }
                        if (!hasPeer(y, kx)) {
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
        for (String id : NODES) {
            await().atMost(WAIT).untilAsserted(() -> assertThat(peer(id)).as(id).isNotNull());
            grant(id);
        }
        for (String id : NODES) {
            await().atMost(WAIT).untilAsserted(() -> assertThat(peer(id).getStatus().phase).isEqualTo(VpnPeerPhase.Active));
        }
        NODES.forEach(WholeSystemIT::awaitIn);
    }

    @Test
    @Order(2)
    void revokeCutsTheNodeOnEveryOtherNode() throws Exception {
        String keyB = key("node-b");
        writer(Anvil.PRIVATE_KEY_0).revoke(contract, tokens.get("node-b"));
        awaitCut("node-b", keyB);
        assertThat(nodes.get("node-a").ping(address(TCP_NODE), 2).success()).as("the others still talk").isTrue();
        grant("node-b");
        awaitIn("node-b");
    }

    @Test
    @Order(3)
    void transferFollowsEachPolicyOnTheDataPlane() throws Exception {
        String keyC = key(TCP_NODE);
        writer(Anvil.PRIVATE_KEY_1).transfer(contract, Anvil.ACCOUNT_1, Anvil.ACCOUNT_2, tokens.get(TCP_NODE));
        awaitCut(TCP_NODE, keyC); // default policy: Revoke
        setOnTransfer(ChainAccess.OnTransfer.Keep);
        awaitIn(TCP_NODE);
        setOnTransfer(ChainAccess.OnTransfer.Suspend);
        awaitCut(TCP_NODE, keyC);
        await().atMost(WAIT).untilAsserted(() -> assertThat(peer(TCP_NODE).getStatus().phase).isEqualTo(VpnPeerPhase.Suspended));
        // The new owner binds the key again: access resumes.
        writer(Anvil.PRIVATE_KEY_2).updatePublicKey(contract, tokens.get(TCP_NODE), keyC);
        awaitIn(TCP_NODE);
        setOnTransfer(ChainAccess.OnTransfer.Revoke);
        awaitCut(TCP_NODE, keyC);
        setOnTransfer(ChainAccess.OnTransfer.Keep); // back in for the next scenarios
        awaitIn(TCP_NODE);
    }

    @Test
    @Order(4)
    void keyRotationSwapsTheKeyOnEveryNode() throws Exception {
        String oldKey = key("node-b");
        agents.get("node-b").close();
        Files.delete(keys.resolve("node-b").resolve("private.key"));
        agents.put("node-b", startAgent("node-b"));
        await().atMost(WAIT).untilAsserted(() -> assertThat(key("node-b")).isNotEqualTo(oldKey));
        String newKey = key("node-b");
        writer(Anvil.PRIVATE_KEY_1).updatePublicKey(contract, tokens.get("node-b"), newKey);
        awaitIn("node-b");
        for (String other : List.of("node-a", TCP_NODE)) {
            assertThat(hasPeer(other, oldKey)).as("%s forgot the old key", other).isFalse();
        }
    }

    @Test
    @Order(5)
    void operatorKilledMidStreamMissesNothingAndFlapsNothing() throws Exception {
        String keyB = key("node-b");
        try (FlapWatch watch = new FlapWatch("node-a", TCP_NODE)) {
            // The revoke is in the mempool when the operator dies; the block that carries it comes while it is down.
            Thread revoke = Thread.ofVirtual().start(() -> writer(Anvil.PRIVATE_KEY_0).revoke(contract, tokens.get("node-b")));
            operator.kill();
            revoke.join();
            assertThat(hasPeer("node-a", keyB)).as("nothing changes while the operator is down").isTrue();
            operator = OperatorProcess.start(RealApiServer.get().kubeconfig(), NS);
            awaitCut("node-b", keyB);
            watch.close();
            assertThat(watch.flaps).as("the unaffected pair never lost each other").isEmpty();
        }
        assertThat(peer("node-a").getStatus().phase).isEqualTo(VpnPeerPhase.Active);
        assertThat(operator.log()).as("resumed from the checkpoint, not from genesis").contains("resuming from checkpoint block");
        grant("node-b");
        awaitIn("node-b");
    }

    @Test
    @Order(6)
    void aRevokeDuringASixtySecondRpcOutageIsEnforcedAfterRecovery() throws Exception {
        String keyC = key(TCP_NODE);
        rpcRelay.cut();
        long outageStart = System.nanoTime();
        writer(Anvil.PRIVATE_KEY_0).revoke(contract, tokens.get(TCP_NODE)); // straight to the chain, not through the relay
        await().atMost(WAIT).untilAsserted(() -> assertThat(network().getStatus().conditions)
                .anySatisfy(c -> {
                    assertThat(c.getType()).isEqualTo(Conditions.CHAIN_REACHABLE);
                    assertThat(c.getStatus()).isEqualTo("False");
                    assertThat(c.getMessage()).contains("keeping the last known access state");
                }));
        assertThat(hasPeer("node-a", keyC)).as("last known state kept during the outage").isTrue();
        Thread.sleep(Math.max(0, Duration.ofSeconds(60).toMillis() - (System.nanoTime() - outageStart) / 1_000_000));
        assertThat(hasPeer("node-a", keyC)).as("still the last known state after 60 s").isTrue();
        rpcRelay.restore();
        awaitCut(TCP_NODE, keyC);
        await().atMost(WAIT).untilAsserted(() -> assertThat(network().getStatus().conditions)
                .anySatisfy(c -> {
                    assertThat(c.getType()).isEqualTo(Conditions.CHAIN_REACHABLE);
                    assertThat(c.getStatus()).isEqualTo("True");
                }));
        grant(TCP_NODE);
        awaitIn(TCP_NODE);
    }

    @Test
    @Order(7)
    void aReorgThatRemovesARevokeBringsTheNodeBack() throws Exception {
        String keyB = key("node-b");
        long revokeBlock = writer(Anvil.PRIVATE_KEY_0).revoke(contract, tokens.get("node-b")).block();
        awaitCut("node-b", keyB);
        // Blocks keep coming every 2 s: roll back to just below the one that carried the revoke.
        String head = anvil.rpc("eth_blockNumber", "[]").replaceAll(".*\"result\":\"0x([0-9a-f]+)\".*", "$1").strip();
        long depth = Long.parseLong(head, 16) - revokeBlock + 1;
        anvil.rpc("anvil_rollback", "[" + depth + "]");
        awaitIn("node-b");
        assertThat(peer("node-b").getStatus().phase).isEqualTo(VpnPeerPhase.Active);
    }

    @Test
    @Order(8)
    void anApiServerRestartKeepsTheDataPlaneAndTheControlPlaneResumes() throws Exception {
        String keyC = key(TCP_NODE);
        try (FlapWatch watch = new FlapWatch("node-a", "node-b")) {
            RealApiServer.get().restartApiServer(Duration.ofSeconds(5));
            assertThat(nodes.get("node-a").ping(address("node-b"), 2).success()).as("the data plane never needed the API server").isTrue();
            writer(Anvil.PRIVATE_KEY_0).revoke(contract, tokens.get(TCP_NODE));
            awaitCut(TCP_NODE, keyC);
            watch.close();
            assertThat(watch.flaps).isEmpty();
        }
    }
}
