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

import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.StoredPeerSet;
import io.dstack.vpn.api.v1alpha1.ChainAccess;
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
import io.dstack.vpn.testing.TestResources;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

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
        String bytecode = ContractArtifact.bytecode(RealApiServer.repoRoot());
        contract = admin.deploy(bytecode).contractAddress();

        RealApiServer api = RealApiServer.get();
        client = api.client();
        client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();
        operator = OperatorProcess.start(api.kubeconfig(), NS);

        VpnNetwork net = TestResources.chainNetwork("chain", "10.77.0.0/24", anvil.rpcUrl(), contract, 2, "200ms");
        client.resource(net).inNamespace(NS).create();

        VpnPeer a = TestResources.peer("node-a", "chain", "node-a", KEY_A);
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

    static void createPeer(String name, String key) {
        VpnPeer p = TestResources.peer(name, "chain", name, key);
        client.resource(p).inNamespace(NS).create();
    }

    /** A VpnPeer with a token minted to ACCOUNT_1 and confirmed: Active when this returns. */
    static BigInteger grantedPeer(String name, String key) throws Exception {
        createPeer(name, key);
        BigInteger token = admin.mint(contract, Anvil.ACCOUNT_1, name, key, "").mintedTokenId();
        mine(1);
        awaitPhase(name, VpnPeerPhase.Active, "TokenActive");
        return token;
    }

    static void awaitPhase(String peer, VpnPeerPhase phase, String reason) {
        await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
            VpnPeer p = peer(peer);
            assertThat(p.getStatus()).isNotNull();
            assertThat(p.getStatus().phase).as("%s: %s", peer, p.getStatus().message).isEqualTo(phase);
            assertThat(p.getStatus().reason).isEqualTo(reason);
        });
    }

    static List<String> peerSetNodes() {
        return peerSet().peers().stream().map(PeerSet.Peer::nodeId).toList();
    }

    static void mine(int blocks) throws Exception {
        anvil.rpc("anvil_mine", "[\"0x" + Integer.toHexString(blocks) + "\"]");
    }

    /** A JSON merge patch, as `kubectl patch --type merge` does: no lock on the version status writes keep moving. */
    static void patchNetwork(String mergePatch) {
        client.resources(VpnNetwork.class).inNamespace(NS).withName("chain")
                .patch(PatchContext.of(PatchType.JSON_MERGE), mergePatch);
    }

    static void setOnTransfer(ChainAccess.OnTransfer policy) {
        patchNetwork("{\"spec\":{\"access\":{\"chain\":{\"onTransfer\":\"" + policy + "\"}}}}");
    }

    static ContractWriter writer(String privateKey) {
        return new ContractWriter(RpcClient.of(List.of(anvil.rpcUrl()), RpcListener.NONE), privateKey, Anvil.BASE_CHAIN_ID, Duration.ofSeconds(30));
    }

    static VpnPeer peer(String name) {
        return client.resources(VpnPeer.class).inNamespace(NS).withName(name).get();
    }

    static VpnNetwork network() {
        return client.resources(VpnNetwork.class).inNamespace(NS).withName("chain").get();
    }

    /** The resourceVersion of every peer-set object (index and shards), by name. */
    static String peerSetVersions() {
        return new java.util.TreeMap<>(StoredPeerSet.objects(client, NS, "chain").stream().collect(java.util.stream.Collectors.toMap(cm -> cm.getMetadata().getName(), cm -> cm.getMetadata().getResourceVersion())))
                .toString();
    }

    static PeerSet peerSet() {
        return StoredPeerSet.readWhole(client, NS, "chain").orElse(null);
    }

    @Test
    @Order(1)
    void withoutATokenThePeerIsPending() {
        await().atMost(WAIT).untilAsserted(() -> {
            VpnPeer a = peer("node-a");
            assertThat(a.getStatus()).isNotNull();
            assertThat(a.getStatus().phase).isEqualTo(VpnPeerPhase.Pending);
            assertThat(a.getStatus().reason).isEqualTo("NoToken");
            assertThat(a.getStatus().message).contains("dstack-vpn register <holder> --peer node-a --vpn-network chain");
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
        String rv = peerSetVersions();
        assertThat(client.configMaps().inNamespace(NS).withName("chain-chain").get()).as("checkpoint saved").isNotNull();
        assertThat(operator.stop()).isTrue();
        operator = OperatorProcess.start(RealApiServer.get().kubeconfig(), NS);
        await().atMost(WAIT).until(() -> operator.get("/q/metrics").contains("dstack_vpn_chain_tokens{namespace=\"" + NS + "\",network=\"chain\"} 1.0"));
        anvil.rpc("anvil_mine", "[\"0x1\"]");
        Thread.sleep(1000); // a few polls of the new process
        assertThat(peerSetVersions()).as("peer set untouched across the restart").isEqualTo(rv);
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
        // The event is recorded right after the status write.
        await().atMost(WAIT).untilAsserted(() -> assertThat(client.v1().events().inNamespace(NS).list().getItems())
                .anySatisfy(e -> assertThat(e.getReason()).isEqualTo("AccessRevoked")));
    }

    @Test
    @Order(5)
    void transferFollowsTheNetworksPolicy() throws Exception {
        String keyB = WireGuardKey.generatePrivate().publicKey().toBase64();
        BigInteger tokenB = grantedPeer("node-b", keyB);

        writer(Anvil.PRIVATE_KEY_1).transfer(contract, Anvil.ACCOUNT_1, Anvil.ACCOUNT_2, tokenB);
        awaitPhase("node-b", VpnPeerPhase.Revoked, "TokenTransferred"); // default policy: Revoke
        await().atMost(WAIT).untilAsserted(() -> assertThat(peerSetNodes()).doesNotContain("node-b"));

        setOnTransfer(ChainAccess.OnTransfer.Keep);
        awaitPhase("node-b", VpnPeerPhase.Active, "TokenActive");
        assertThat(peer("node-b").getStatus().token.owner).isEqualToIgnoringCase(Anvil.ACCOUNT_2);

        setOnTransfer(ChainAccess.OnTransfer.Suspend);
        awaitPhase("node-b", VpnPeerPhase.Suspended, "TokenTransferred");
        // The new owner binds the key again: access resumes after the confirmations.
        writer(Anvil.PRIVATE_KEY_2).updatePublicKey(contract, tokenB, keyB);
        mine(1);
        awaitPhase("node-b", VpnPeerPhase.Active, "TokenActive");
        setOnTransfer(ChainAccess.OnTransfer.Revoke);
        awaitPhase("node-b", VpnPeerPhase.Revoked, "TokenTransferred");
    }

    @Test
    @Order(6)
    void keyRotationReplacesTheOldKeyEverywhere() throws Exception {
        String oldKey = WireGuardKey.generatePrivate().publicKey().toBase64();
        BigInteger tokenC = grantedPeer("node-c", oldKey);

        String newKey = WireGuardKey.generatePrivate().publicKey().toBase64();
        writer(Anvil.PRIVATE_KEY_1).updatePublicKey(contract, tokenC, newKey);
        // The token no longer binds the old key: out at once (fail closed), before any confirmation.
        awaitPhase("node-c", VpnPeerPhase.Pending, "KeyMismatch");
        await().atMost(WAIT).untilAsserted(() -> assertThat(peerSet().peers()).noneMatch(p -> p.publicKey().equals(oldKey)));

        client.resources(VpnPeer.class).inNamespace(NS).withName("node-c")
                .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"spec\":{\"publicKey\":\"" + newKey + "\"}}");
        mine(1);
        awaitPhase("node-c", VpnPeerPhase.Active, "TokenActive");
        await().atMost(WAIT).untilAsserted(() -> assertThat(peerSet().peers()).anyMatch(p -> p.nodeId().equals("node-c") && p.publicKey().equals(newKey)));
    }

    @Test
    @Order(7)
    void malformedTokenDataIsFlagged() throws Exception {
        createPeer("node-d", WireGuardKey.generatePrivate().publicKey().toBase64());
        admin.mint(contract, Anvil.ACCOUNT_1, "node-d", "this is not a key", "");
        mine(2);
        awaitPhase("node-d", VpnPeerPhase.Denied, "InvalidTokenData");
        assertThat(peer("node-d").getStatus().message).contains("not a WireGuard public key");
        assertThat(peerSetNodes()).doesNotContain("node-d");
        await().atMost(WAIT).untilAsserted(() -> assertThat(network().getStatus().conditions).anySatisfy(c -> {
            assertThat(c.getType()).isEqualTo(Conditions.CHAIN_DATA_VALID);
            assertThat(c.getStatus()).isEqualTo("False");
            assertThat(c.getMessage()).contains("unusable token");
        }));
    }

    @Test
    @Order(8)
    void rpcOutageKeepsTheLastKnownStateAndSaysSo() throws Exception {
        List<String> before = peerSetNodes();
        assertThat(before).contains("node-c");
        anvil.pause();
        try {
            await().atMost(WAIT).untilAsserted(() -> assertThat(network().getStatus().conditions)
                    .anySatisfy(c -> {
                        assertThat(c.getType()).isEqualTo(Conditions.CHAIN_REACHABLE);
                        assertThat(c.getStatus()).isEqualTo("False");
                        assertThat(c.getMessage()).contains("keeping the last known access state");
                    }));
            assertThat(peerSetNodes()).isEqualTo(before);
            assertThat(peer("node-c").getStatus().phase).isEqualTo(VpnPeerPhase.Active);
        } finally {
            anvil.resume();
        }
        await().atMost(WAIT).untilAsserted(() -> assertThat(network().getStatus().conditions)
                .anySatisfy(c -> {
                    assertThat(c.getType()).isEqualTo(Conditions.CHAIN_REACHABLE);
                    assertThat(c.getStatus()).isEqualTo("True");
                }));
    }

    @Test
    @Order(9)
    void reorgThatRemovesARevokeIsRewound() throws Exception {
        BigInteger tokenC = new BigInteger(peer("node-c").getStatus().token.id);
        admin.revoke(contract, tokenC);
        awaitPhase("node-c", VpnPeerPhase.Revoked, "TokenRevoked");
        anvil.rpc("anvil_rollback", "[1]");
        mine(2);
        awaitPhase("node-c", VpnPeerPhase.Active, "TokenActive");
        await().atMost(WAIT).untilAsserted(() -> assertThat(peerSetNodes()).contains("node-c"));
    }

    @Test
    @Order(10)
    void tokensWithoutAVpnPeerJoinAsOutsidePeersWhenAsked() throws Exception {
        String teeKey = WireGuardKey.generatePrivate().publicKey().toBase64();
        BigInteger tee = admin.mint(contract, Anvil.ACCOUNT_1, "tee-1", teeKey, "").mintedTokenId();
        mine(2);
        Thread.sleep(500);
        assertThat(peerSetNodes()).as("not imported unless the network asks").doesNotContain("tee-1");

        patchNetwork("{\"spec\":{\"access\":{\"chain\":{\"importUnmatchedTokens\":true}}}}");
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(peerSet().peers()).anySatisfy(p -> {
                assertThat(p.nodeId()).isEqualTo("tee-1");
                assertThat(p.publicKey()).isEqualTo(teeKey);
                assertThat(p.address()).startsWith("10.77.0.");
                assertThat(p.endpoint()).isNull();
            });
            assertThat(network().getStatus().peers.outside).isEqualTo(1);
        });
        admin.revoke(contract, tee);
        await().atMost(WAIT).untilAsserted(() -> assertThat(peerSetNodes()).doesNotContain("tee-1"));
    }
}
