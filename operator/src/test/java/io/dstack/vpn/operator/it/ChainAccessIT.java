package io.dstack.vpn.operator.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.math.BigInteger;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.v1alpha1.AccessSource;
import io.dstack.vpn.api.v1alpha1.ChainAccess;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnNetworkSpec;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.api.v1alpha1.VpnPeerSpec;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.chain.contract.ContractWriter;
import io.dstack.vpn.chain.rpc.RpcClient;
import io.dstack.vpn.chain.rpc.RpcListener;
import io.dstack.vpn.testing.Anvil;
import io.dstack.vpn.testing.OperatorProcess;
import io.dstack.vpn.testing.RealApiServer;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The packaged operator with the chain as access source: a real anvil running our contract, the real API
 * server. Mint → Active after K confirmations; revoke → Revoked at first sight; a restart resumes from the
 * checkpoint without touching the peer set.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ChainAccessIT {
    static final String NS = "chain-it";
    static final Duration WAIT = Duration.ofSeconds(60);
    static KubernetesClient client;
    static OperatorProcess operator;
    static Anvil anvil;
    static ContractWriter admin;
    static String contract;
    static final String KEY_A = WireGuardKey.generatePrivate().publicKey().toBase64();
    static BigInteger tokenA;

    @BeforeAll
    static void start() throws Exception {
        anvil = Anvil.start(Anvil.Options.defaults());
        RpcClient rpc = RpcClient.of(List.of(anvil.rpcUrl()), RpcListener.NONE);
        admin = new ContractWriter(rpc, Anvil.PRIVATE_KEY_0, Anvil.BASE_CHAIN_ID, Duration.ofSeconds(30));
        String bytecode = new ObjectMapper().readTree(Files.readString(RealApiServer.repoRoot().resolve("contracts/build/DstackAccessNFT.json")))
                .get("bytecode").asText();
        contract = admin.deploy(bytecode).contractAddress();

        RealApiServer api = RealApiServer.get();
        client = api.client();
        client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();
        operator = OperatorProcess.start(api.kubeconfig(), NS);

        VpnNetwork net = new VpnNetwork();
        net.setMetadata(new ObjectMetaBuilder().withName("chain").build());
        net.setSpec(new VpnNetworkSpec());
        net.getSpec().cidr = "10.77.0.0/24";
        net.getSpec().access = new AccessSource();
        net.getSpec().access.chain = new ChainAccess();
        net.getSpec().access.chain.chainId = Anvil.BASE_CHAIN_ID;
        net.getSpec().access.chain.rpcUrls = List.of(anvil.rpcUrl());
        net.getSpec().access.chain.contractAddress = contract;
        net.getSpec().access.chain.grantConfirmations = 2;
        net.getSpec().access.chain.pollInterval = "200ms";
        client.resource(net).inNamespace(NS).create();

        VpnPeer a = new VpnPeer();
        a.setMetadata(new ObjectMetaBuilder().withName("node-a").build());
        a.setSpec(new VpnPeerSpec());
        a.getSpec().network = "chain";
        a.getSpec().nodeId = "node-a";
        a.getSpec().publicKey = KEY_A;
        client.resource(a).inNamespace(NS).create();
    }

    @AfterAll
    static void stop() {
        if (operator != null) {
            operator.close();
        }
        if (anvil != null) {
            anvil.close();
        }
    }

    static VpnPeer peer(String name) {
        return client.resources(VpnPeer.class).inNamespace(NS).withName(name).get();
    }

    static VpnNetwork network() {
        return client.resources(VpnNetwork.class).inNamespace(NS).withName("chain").get();
    }

    static PeerSet peerSet() {
        var cm = client.configMaps().inNamespace(NS).withName(PeerSetCodec.configMapName("chain")).get();
        return cm == null ? null : PeerSetCodec.decode(cm.getData().get(PeerSetCodec.PEERS_KEY));
    }

    @Test
    @Order(1)
    void withoutATokenThePeerIsPending() {
        await().atMost(WAIT).untilAsserted(() -> {
            VpnPeer a = peer("node-a");
            assertThat(a.getStatus()).isNotNull();
            assertThat(a.getStatus().phase).isEqualTo(VpnPeerPhase.Pending);
            assertThat(a.getStatus().reason).isEqualTo("NoToken");
            assertThat(a.getStatus().message).contains("dstack-vpn register");
        });
        await().atMost(WAIT).until(() -> network().getStatus() != null && network().getStatus().conditions.stream()
                .anyMatch(c -> c.getType().equals(Conditions.CHAIN_SYNCED) && c.getStatus().equals("True")));
        assertThat(network().getStatus().chain.blockNumber).isNotNull();
    }

    @Test
    @Order(2)
    void mintAdmitsAfterTheConfirmations() throws Exception {
        var receipt = admin.mint(contract, Anvil.ACCOUNT_1, "node-a", KEY_A, "");
        tokenA = receipt.mintedTokenId();
        await().atMost(WAIT).untilAsserted(() -> assertThat(peer("node-a").getStatus().reason).isEqualTo("AwaitingConfirmations"));
        assertThat(peerSet().peers()).isEmpty();

        anvil.rpc("anvil_mine", "[\"0x1\"]");
        await().atMost(WAIT).untilAsserted(() -> {
            VpnPeer a = peer("node-a");
            assertThat(a.getStatus().phase).isEqualTo(VpnPeerPhase.Active);
            assertThat(a.getStatus().token.id).isEqualTo(tokenA.toString());
            assertThat(a.getStatus().token.owner).isEqualToIgnoringCase(Anvil.ACCOUNT_1);
            assertThat(a.getStatus().address).startsWith("10.77.0.");
            assertThat(peerSet().peers()).extracting(PeerSet.Peer::nodeId).containsExactly("node-a");
        });
    }

    @Test
    @Order(3)
    void restartResumesWithoutAFlap() throws Exception {
        String rv = client.configMaps().inNamespace(NS).withName(PeerSetCodec.configMapName("chain")).get().getMetadata().getResourceVersion();
        assertThat(client.configMaps().inNamespace(NS).withName("chain-chain").get()).as("checkpoint saved").isNotNull();
        assertThat(operator.stop()).isTrue();
        operator = OperatorProcess.start(RealApiServer.get().kubeconfig(), NS);
        await().atMost(WAIT).until(() -> operator.get("/q/metrics").contains("dstack_vpn_chain_tokens{namespace=\"" + NS + "\",network=\"chain\"} 1.0"));
        anvil.rpc("anvil_mine", "[\"0x1\"]");
        Thread.sleep(1000); // a few polls of the new process
        assertThat(client.configMaps().inNamespace(NS).withName(PeerSetCodec.configMapName("chain")).get().getMetadata().getResourceVersion())
                .as("peer set untouched across the restart").isEqualTo(rv);
        assertThat(peer("node-a").getStatus().phase).isEqualTo(VpnPeerPhase.Active);
        assertThat(operator.log()).contains("resuming from checkpoint block");
    }

    @Test
    @Order(4)
    void revokeCutsAtFirstSight() throws Exception {
        var receipt = admin.revoke(contract, tokenA);
        long t0 = System.nanoTime();
        await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
            assertThat(peerSet().peers()).isEmpty();
        });
        long renderedMs = (System.nanoTime() - t0) / 1_000_000;
        await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
            VpnPeer a = peer("node-a");
            assertThat(a.getStatus().phase).isEqualTo(VpnPeerPhase.Revoked);
            assertThat(a.getStatus().reason).isEqualTo("TokenRevoked");
        });
        long statusMs = (System.nanoTime() - t0) / 1_000_000;
        System.out.printf("revoke in block %d: peer set without the node after %d ms, status Revoked after %d ms (poll 200 ms)%n",
                receipt.block(), renderedMs, statusMs);
        assertThat(client.v1().events().inNamespace(NS).list().getItems()).anySatisfy(e -> assertThat(e.getReason()).isEqualTo("AccessRevoked"));
    }
}
