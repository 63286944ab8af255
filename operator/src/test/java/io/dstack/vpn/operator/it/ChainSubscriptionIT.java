package io.dstack.vpn.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.math.BigInteger;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.StoredPeerSet;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.chain.contract.ContractArtifact;
import io.dstack.vpn.chain.contract.ContractWriter;
import io.dstack.vpn.chain.rpc.RpcClient;
import io.dstack.vpn.chain.rpc.RpcListener;
import io.dstack.vpn.testing.Anvil;
import io.dstack.vpn.testing.OperatorProcess;
import io.dstack.vpn.testing.RealApiServer;
import io.dstack.vpn.testing.TcpRelay;
import io.dstack.vpn.testing.TestResources;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The follower driven by a WebSocket subscription (issue 16 §1, ADR 0012): the packaged operator, the real API
 * server, anvil serving HTTP and WebSocket, and a TCP relay in front of the WebSocket that the test cuts. The
 * network polls only once an hour: everything after the first sync reaches the operator through the subscription,
 * or through the backfill it makes when it connects again.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ChainSubscriptionIT {
    static final String NS = "chain-sub-it";
    static final String NET = "subs";
    static final Duration WAIT = Duration.ofSeconds(90);
    static KubernetesClient client;
    static OperatorProcess operator;
    static Anvil anvil;
    static TcpRelay socket;
    static ContractWriter admin;
    static String contract;

    @BeforeAll
    static void start() throws Exception {
        anvil = Anvil.start(Anvil.Options.defaults()); // automine: a block per transaction
        admin = new ContractWriter(RpcClient.of(List.of(anvil.rpcUrl()), RpcListener.NONE), Anvil.PRIVATE_KEY_0, Anvil.BASE_CHAIN_ID,
                Duration.ofSeconds(30));
        contract = admin.deploy(ContractArtifact.bytecode(RealApiServer.repoRoot())).contractAddress();
        socket = new TcpRelay(anvil.port());

        RealApiServer api = RealApiServer.get();
        client = api.client();
        client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();
        operator = OperatorProcess.start(api.kubeconfig(), NS);
        VpnNetwork net = TestResources.chainNetwork(NET, "10.78.0.0/24", anvil.rpcUrl(), contract, 1, "1h");
        net.getSpec().access.chain.rpcUrls = List.of(anvil.rpcUrl(), "ws://127.0.0.1:" + socket.port());
        client.resource(net).inNamespace(NS).create();
    }

    @AfterAll
    static void stop() {
        if (operator != null) {
            operator.close();
        }
        if (socket != null) {
            socket.close();
        }
        if (anvil != null) {
            anvil.close();
        }
    }

    static VpnNetwork network() {
        return client.resources(VpnNetwork.class).inNamespace(NS).withName(NET).get();
    }

    static String mode() {
        VpnNetwork n = network();
        return n == null || n.getStatus() == null || n.getStatus().chain == null ? null : n.getStatus().chain.mode;
    }

    static List<String> peerSetNodes() {
        return StoredPeerSet.readWhole(client, NS, NET).map(set -> set.peers().stream().map(PeerSet.Peer::nodeId).toList()).orElse(List.of());
    }

    static BigInteger grant(String node) {
        String key = WireGuardKey.generatePrivate().publicKey().toBase64();
        client.resource(TestResources.peer(node, NET, node, key)).inNamespace(NS).create();
        BigInteger token = admin.mint(contract, Anvil.ACCOUNT_1, node, key, "").mintedTokenId();
        await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).until(() -> {
            VpnPeer p = client.resources(VpnPeer.class).inNamespace(NS).withName(node).get();
            return p.getStatus() != null && p.getStatus().phase == VpnPeerPhase.Active;
        });
        return token;
    }

    @Test
    @Order(1)
    void theNetworkFollowsBySubscriptionAndAGrantArrivesWithoutAPoll() throws Exception {
        try {
            await().atMost(WAIT).until(() -> "Subscription".equals(mode()));
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            System.out.println("network status: " + client.getKubernetesSerialization().asJson(network().getStatus()));
            System.out.println(operator.threadDumpAndLogTail(60));
            throw e;
        }
        // With an hour between polls, only the pushed head can have brought the mint's block.
        grant("node-a");
        assertThat(peerSetNodes()).contains("node-a");
    }

    @Test
    @Order(2)
    void aRevocationCutsFromTheSubscriptionLog() throws Exception {
        BigInteger token = grant("node-b");
        admin.revoke(contract, token);
        await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> !peerSetNodes().contains("node-b"));
        assertThat(operator.log()).contains("revocation of token #" + token + " (node-b) seen in a subscription log");
        String metrics = operator.get("/q/metrics");
        assertThat(metrics).contains("dstack_vpn_chain_subscription_live{namespace=\"" + NS + "\",network=\"" + NET + "\"} 1.0");
    }

    @Test
    @Order(3)
    void aRevocationWhileTheSocketIsCutIsBackfilledWhenItComesBack() throws Exception {
        BigInteger token = grant("node-c");
        socket.cut();
        await().atMost(WAIT).until(() -> "Polling".equals(mode()));
        admin.revoke(contract, token); // mined now; the operator hears nothing of it (and polls once an hour)
        Thread.sleep(1_000);
        assertThat(peerSetNodes()).as("nothing can have told the operator yet").contains("node-c");
        long restored = System.nanoTime();
        socket.restore();
        await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> !peerSetNodes().contains("node-c"));
        System.out.printf("socket restored → the revocation made while it was cut applied: %d ms (most of it the reconnect backoff)%n",
                (System.nanoTime() - restored) / 1_000_000);
        await().atMost(WAIT).until(() -> "Subscription".equals(mode()));
        assertThat(peerSetNodes()).contains("node-a");
    }
}
