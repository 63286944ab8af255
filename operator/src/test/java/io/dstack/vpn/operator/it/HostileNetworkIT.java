package io.dstack.vpn.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.web3j.abi.FunctionEncoder;
import org.web3j.abi.datatypes.Utf8String;

import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.StoredPeerSet;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.chain.contract.AccessContract;
import io.dstack.vpn.chain.contract.ContractArtifact;
import io.dstack.vpn.chain.contract.ContractWriter;
import io.dstack.vpn.chain.rpc.RpcClient;
import io.dstack.vpn.chain.rpc.RpcListener;
import io.dstack.vpn.testing.Anvil;
import io.dstack.vpn.testing.HostileRpcServer;
import io.dstack.vpn.testing.HostileRpcServer.Hostility;
import io.dstack.vpn.testing.OperatorProcess;
import io.dstack.vpn.testing.RealApiServer;
import io.dstack.vpn.testing.TestResources;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * One operator, one healthy network on a real anvil, and networks whose RPC endpoints attack the operator
 * ({@link HostileRpcServer}) or point inside the cluster. The healthy network's revocation must still land, each
 * hostile network must say what is wrong in its status (cut, clean, without the URL's secret path), and an
 * internal destination must not be contacted. Before the fix, three trickling endpoints held the operator's two
 * shared follower threads forever: the healthy network never saw its revocation.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostileNetworkIT {
    static final String NS = "hostile-it";
    static final Duration WAIT = Duration.ofSeconds(90);
    static final String FAKE_CONTRACT = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
    static KubernetesClient client;
    static OperatorProcess operator;
    static Anvil anvil;
    static ContractWriter admin;
    static String contract;
    static final List<HostileRpcServer> hostile = new ArrayList<>();
    static final List<Long> revocationMillis = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        anvil = Anvil.start(Anvil.Options.defaults());
        admin = new ContractWriter(RpcClient.of(List.of(anvil.rpcUrl()), RpcListener.NONE), Anvil.PRIVATE_KEY_0, Anvil.BASE_CHAIN_ID,
                Duration.ofSeconds(30));
        contract = admin.deploy(ContractArtifact.bytecode(RealApiServer.repoRoot())).contractAddress();
        RealApiServer api = RealApiServer.get();
        client = api.client();
        client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();
        operator = OperatorProcess.start(api.kubeconfig(), NS);
        client.resource(TestResources.chainNetwork("healthy", "10.78.0.0/24", anvil.rpcUrl(), contract, 1, "200ms")).inNamespace(NS).create();
    }

    @AfterAll
    static void stop() {
        if (operator != null) {
            operator.close();
        }
        hostile.forEach(HostileRpcServer::close);
        if (anvil != null) {
            anvil.close();
        }
    }

    static HostileRpcServer hostileNetwork(String name, Hostility h) throws Exception {
        HostileRpcServer server = HostileRpcServer.start(Anvil.BASE_CHAIN_ID, FAKE_CONTRACT, 20);
        server.addLog(5, List.of(AccessContract.TOPIC_GRANTED, word("1"), word("70997970c51812dc3a010c7d01b50e0d17dc79c8")),
                "0x" + FunctionEncoder.encodeConstructor(List.of(new Utf8String("node-x"),
                        new Utf8String(WireGuardKey.generatePrivate().publicKey().toBase64()))));
        server.hostility(h);
        hostile.add(server);
        client.resource(TestResources.chainNetwork(name, "10.79.0.0/24", server.url(), FAKE_CONTRACT, 1, "200ms")).inNamespace(NS).create();
        return server;
    }

    static String word(String hex) {
        return "0x" + "0".repeat(64 - hex.length()) + hex;
    }

    /** Grants node {@code name} on the healthy network, waits for it in the peer set, revokes, and times the cut. */
    static long grantThenRevoke(String name) throws Exception {
        String key = WireGuardKey.generatePrivate().publicKey().toBase64();
        client.resource(TestResources.peer(name, "healthy", name, key)).inNamespace(NS).create();
        BigInteger token = admin.mint(contract, Anvil.ACCOUNT_1, name, key, "").mintedTokenId();
        anvil.rpc("anvil_mine", "[\"0x1\"]");
        await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> assertThat(peerSetNodes()).contains(name));
        admin.revoke(contract, token);
        long t0 = System.nanoTime();
        // A liveness bound, not a latency assertion: before the fix this never happened.
        await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> assertThat(peerSetNodes()).doesNotContain(name));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        await().atMost(WAIT).untilAsserted(() -> assertThat(peer(name).getStatus().phase).isEqualTo(VpnPeerPhase.Revoked));
        revocationMillis.add(ms);
        return ms;
    }

    static List<String> peerSetNodes() {
        return StoredPeerSet.readWhole(client, NS, "healthy").map(set -> set.peers().stream().map(PeerSet.Peer::nodeId).toList())
                .orElse(List.of());
    }

    static VpnPeer peer(String name) {
        return client.resources(VpnPeer.class).inNamespace(NS).withName(name).get();
    }

    static Condition condition(String network, String type) {
        VpnNetwork n = client.resources(VpnNetwork.class).inNamespace(NS).withName(network).get();
        if (n == null || n.getStatus() == null || n.getStatus().conditions == null) {
            return null;
        }
        return n.getStatus().conditions.stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
    }

    static void awaitCondition(String network, String type, String status, String reason, String messagePart) {
        await().atMost(WAIT).untilAsserted(() -> {
            Condition c = condition(network, type);
            assertThat(c).as("%s %s", network, type).isNotNull();
            assertThat(c.getStatus()).as(c.getMessage()).isEqualTo(status);
            assertThat(c.getReason()).isEqualTo(reason);
            assertThat(c.getMessage()).contains(messagePart);
        });
        String m = condition(network, type).getMessage();
        assertThat(m).as("no secret of the URL in status").doesNotContain("HOSTILE-SECRET-PATH").doesNotContain(HostileRpcServer.ERROR_SECRET)
                .doesNotContain("SECRET");
        assertThat(m.chars()).as("printable ASCII only").allMatch(ch -> ch >= 0x20 && ch < 0x7f);
        assertThat(m.length()).isLessThanOrEqualTo(1024);
    }

    @Test
    @Order(1)
    void aRevocationLandsBeforeAnyHostileNetworkExists() throws Exception {
        await().atMost(WAIT).until(() -> condition("healthy", Conditions.CHAIN_SYNCED) != null
                && "True".equals(condition("healthy", Conditions.CHAIN_SYNCED).getStatus()));
        System.out.println("revocation with no hostile network: " + grantThenRevoke("calm-1") + " ms");
    }

    @Test
    @Order(2)
    void hostileEndpointsAreReportedCutAndClean() throws Exception {
        for (int i = 0; i < 3; i++) {
            hostileNetwork("slow-" + i, Hostility.SLOW_BODY);
        }
        hostileNetwork("huge", Hostility.HUGE_BODY);
        hostileNetwork("noisy", Hostility.HUGE_ERROR);
        hostileNetwork("malformed", Hostility.MALFORMED_HEX);
        hostileNetwork("foreign", Hostility.FOREIGN_CONTRACT_LOGS);
        hostileNetwork("storm", Hostility.REORG_STORM);
        client.resource(TestResources.chainNetwork("metadata", "10.80.0.0/24", "http://169.254.169.254/latest/meta-data/SECRET", FAKE_CONTRACT,
                1, "200ms")).inNamespace(NS).create();
        client.resource(TestResources.chainNetwork("cluster-dns", "10.81.0.0/24", "http://localhost:8545/SECRET", FAKE_CONTRACT,
                1, "200ms")).inNamespace(NS).create();

        awaitCondition("slow-0", Conditions.CHAIN_REACHABLE, "False", "RpcUnavailable", "no complete reply within 3000 ms");
        awaitCondition("huge", Conditions.CHAIN_REACHABLE, "False", "RpcUnavailable", "exceeds the limit");
        awaitCondition("noisy", Conditions.CHAIN_REACHABLE, "False", "RpcUnavailable", "boom");
        awaitCondition("malformed", Conditions.CHAIN_DATA_VALID, "False", "InvalidChainData", "malformed blockNumber");
        awaitCondition("foreign", Conditions.CHAIN_DATA_VALID, "False", "InvalidChainData", "another contract");
        awaitCondition("metadata", Conditions.CHAIN_SYNCED, "False", "RpcConfigInvalid", "link-local");
        awaitCondition("cluster-dns", Conditions.CHAIN_SYNCED, "False", "RpcConfigInvalid", "not allowed");
        await().atMost(WAIT).untilAsserted(() -> assertThat(client.v1().events().inNamespace(NS).list().getItems())
                .anySatisfy(e -> {
                    assertThat(e.getInvolvedObject().getName()).isEqualTo("malformed");
                    assertThat(e.getReason()).isEqualTo("InvalidChainData");
                }));
        assertThat(operator.log()).doesNotContain("HOSTILE-SECRET-PATH").doesNotContain(HostileRpcServer.ERROR_SECRET)
                .doesNotContain("meta-data/SECRET");
    }

    @Test
    @Order(3)
    void aHealthyNetworksRevocationStillLandsBesideThem() throws Exception {
        for (int i = 1; i <= 3; i++) {
            System.out.println("revocation beside hostile networks: " + grantThenRevoke("busy-" + i) + " ms");
        }
        assertThat(condition("healthy", Conditions.CHAIN_SYNCED).getStatus()).isEqualTo("True");
    }

    /**
     * Isolation on its own: with a request deadline longer than the wait, the trickling endpoints hold their
     * pollers for the whole test. On the old shared 2-thread scheduler the healthy network's revocation then
     * never landed (its poll never ran); on a thread of its own it lands as before. A liveness bound, no timing.
     */
    @Test
    @Order(4)
    void isolationAloneKeepsTheHealthyNetworkGoingWhenSlowEndpointsNeverTimeOut() throws Exception {
        assertThat(operator.stop()).isTrue();
        operator = OperatorProcess.start(RealApiServer.get().kubeconfig(), NS, java.util.Map.of("DSTACK_CHAIN_RPC_DEADLINE", "10m"));
        for (int i = 1; i <= 2; i++) {
            System.out.println("revocation beside endpoints that never time out: " + grantThenRevoke("stuck-" + i) + " ms");
        }
        System.out.println("revocation times (ms), first without hostile networks: " + revocationMillis);
    }
}
