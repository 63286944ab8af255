package io.dstack.vpn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.web3j.crypto.Credentials;
import org.web3j.crypto.WalletUtils;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.v1alpha1.AccessSource;
import io.dstack.vpn.api.v1alpha1.ChainAccess;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnNetworkSpec;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerSpec;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.chain.contract.ContractArtifact;
import io.dstack.vpn.chain.contract.ContractWriter;
import io.dstack.vpn.chain.rpc.RpcClient;
import io.dstack.vpn.chain.rpc.RpcListener;
import io.dstack.vpn.testing.Anvil;
import io.dstack.vpn.testing.RealApiServer;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

/** Every command and every listed error, against a real anvil with our contract and the real API server. */
class CliIT {
    static final String NS = "cli-it";
    static Anvil anvil;
    static String contract;
    static KubernetesClient kube;
    static final ObjectMapper JSON = new ObjectMapper();

    record Run(int code, String out, String err) {
        JsonNode json() throws Exception {
            return JSON.readTree(out);
        }
    }

    @BeforeAll
    static void start() throws Exception {
        anvil = Anvil.start(Anvil.Options.defaults());
        contract = new ContractWriter(RpcClient.of(List.of(anvil.rpcUrl()), RpcListener.NONE), Anvil.PRIVATE_KEY_0, Anvil.BASE_CHAIN_ID,
                Duration.ofSeconds(30)).deploy(ContractArtifact.bytecode(RealApiServer.repoRoot())).contractAddress();
        kube = RealApiServer.get().client();
        System.setProperty("kubeconfig", RealApiServer.get().kubeconfig().toString());
        kube.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();
    }

    @AfterAll
    static void stop() {
        if (anvil != null) {
            anvil.close();
        }
    }

    static Run run(Map<String, String> extraEnv, String... args) {
        Map<String, String> env = new HashMap<>();
        env.put("DSTACK_RPC_URL", anvil.rpcUrl());
        env.put("DSTACK_CONTRACT", contract);
        env.putAll(extraEnv);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        var cl = DstackVpn.commandLine(env);
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    static Run run(String... args) {
        return run(Map.of(), args);
    }

    static Run asOwner(String... args) {
        return run(Map.of("PRIVATE_KEY", Anvil.PRIVATE_KEY_0), args);
    }

    static String key() {
        return WireGuardKey.generatePrivate().publicKey().toBase64();
    }

    static JsonNode rpc(Anvil chain, String method, String params) throws Exception {
        return JSON.readTree(chain.rpc(method, params)).get("result");
    }

    /** The type of a mined transaction: 0x2 for EIP-1559, 0x0 for legacy. */
    static String txType(Anvil chain, String hash) throws Exception {
        return rpc(chain, "eth_getTransactionByHash", "[\"" + hash + "\"]").get("type").asText();
    }

    static String nonce(String account) throws Exception {
        return rpc(anvil, "eth_getTransactionCount", "[\"" + account + "\", \"pending\"]").asText();
    }

    static Path secretFile(Path dir, String name, String content, String permissions) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, content);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(permissions));
        return f;
    }

    @Test
    void keygenWritesA0600FileAndPrintsOnlyThePublicKey(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("node.key");
        Run r = run("keygen", "--out", file.toString(), "-o", "json");
        assertThat(r.code()).isZero();
        String privateKey = Files.readString(file).strip();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(r.json().get("publicKey").asText()).isEqualTo(WireGuardKey.parse(privateKey).publicKey().toBase64());
        assertThat(r.out()).doesNotContain(privateKey);
        assertThat(run("keygen", "--out", file.toString()).code()).as("never overwrites a key").isEqualTo(ExitCodes.USAGE);
        Path shown = dir.resolve("shown.key");
        assertThat(run("keygen", "--out", shown.toString(), "--show-private").out()).contains(Files.readString(shown).strip());
    }

    @Test
    void registerVerifyInfoListRevoke() throws Exception {
        String k = key();
        Run reg = asOwner("register", Anvil.ACCOUNT_1, "node-r", "--public-key", k, "-o", "json");
        assertThat(reg.code()).as(reg.err()).isZero();
        String tokenId = reg.json().get("tokenId").asText();
        assertThat(reg.json().get("transaction").asText()).startsWith("0x");
        assertThat(txType(anvil, reg.json().get("transaction").asText())).as("EIP-1559 on a chain with a base fee").isEqualTo("0x2");

        assertThat(run("verify", Anvil.ACCOUNT_1, "node-r").code()).isEqualTo(ExitCodes.OK);
        assertThat(run("verify", Anvil.ACCOUNT_2, "node-r").code()).isEqualTo(ExitCodes.NO);

        Run info = run("info", "node-r", "-o", "json");
        assertThat(info.json().get("publicKey").asText()).isEqualTo(k);
        assertThat(info.json().get("tokenId").asText()).isEqualTo(tokenId);
        assertThat(run("info", tokenId).out()).contains("node-r").contains(k);

        Run list = run("list");
        assertThat(list.code()).isZero();
        assertThat(list.out()).contains("TOKENID").contains("node-r").contains(k);

        Run revoke = asOwner("revoke", tokenId, "-o", "json");
        assertThat(revoke.code()).as(revoke.err()).isZero();
        assertThat(revoke.json().get("revoked").asBoolean()).isTrue();
        assertThat(txType(anvil, revoke.json().get("transaction").asText())).isEqualTo("0x2");
        assertThat(run("verify", Anvil.ACCOUNT_1, "node-r").code()).isEqualTo(ExitCodes.NO);
        assertThat(run("list", "--active").out()).doesNotContain("node-r");
        Run again = asOwner("revoke", tokenId);
        assertThat(again.code()).isEqualTo(ExitCodes.USAGE);
        assertThat(again.err()).contains("already revoked");
    }

    @Test
    void everyListedErrorIsClearAndHasItsExitCode() {
        String k = key();
        Run noKey = run("register", Anvil.ACCOUNT_1, "node-e", "--public-key", k);
        assertThat(noKey.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(noKey.err()).contains("PRIVATE_KEY is not set");

        Run wrongChain = asOwner("register", Anvil.ACCOUNT_1, "node-e", "--public-key", k, "--chain-id", "1");
        assertThat(wrongChain.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(wrongChain.err()).contains("serves chain id 8453, expected 1");

        Run notOwner = run(Map.of("PRIVATE_KEY", Anvil.PRIVATE_KEY_1), "register", Anvil.ACCOUNT_1, "node-e", "--public-key", k);
        assertThat(notOwner.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(notOwner.err()).contains("but the contract owner is").doesNotContain(Anvil.PRIVATE_KEY_1.substring(2));

        Run unreachable = run(Map.of("DSTACK_RPC_URL", "http://127.0.0.1:1/secret-api-key"), "info", "1");
        assertThat(unreachable.code()).isEqualTo(ExitCodes.UNAVAILABLE);
        assertThat(unreachable.err()).contains("cannot reach the RPC endpoint").doesNotContain("secret-api-key");

        assertThat(asOwner("register", "0x1234", "node-e", "--public-key", k).err()).contains("not an Ethereum address");
        assertThat(asOwner("register", Anvil.ACCOUNT_1, "node-e", "--public-key", "nope").err()).contains("not a WireGuard key");
        Run badNode = asOwner("register", Anvil.ACCOUNT_1, "Node_E", "--public-key", k);
        assertThat(badNode.code()).isEqualTo(ExitCodes.USAGE);
        assertThat(badNode.err()).contains("not a DNS-1123 label");

        Run noToken = run("info", "999");
        assertThat(noToken.code()).isEqualTo(ExitCodes.NOT_FOUND);
        assertThat(noToken.err()).contains("token 999 does not exist");
        assertThat(run("info", "no-such-node").code()).isEqualTo(ExitCodes.NOT_FOUND);
        assertThat(run("verify", "0xZZ", "node-e").code()).isEqualTo(ExitCodes.USAGE);
        Run noContract = run(Map.of("DSTACK_CONTRACT", "0x000000000000000000000000000000000000dEaD"), "info", "1");
        assertThat(noContract.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(noContract.err()).contains("there is no contract at");
        assertThat(run(Map.of("DSTACK_CHAIN_ID", "base"), "info", "1").err()).contains("DSTACK_CHAIN_ID 'base' is not a number");
    }

    @Test
    void clusterCommandsStatusPendingRegisterByPeerAndConfig() throws Exception {
        VpnNetwork net = new VpnNetwork();
        net.setMetadata(new ObjectMetaBuilder().withName("edge").build());
        net.setSpec(new VpnNetworkSpec());
        net.getSpec().cidr = "10.55.0.0/24";
        net.getSpec().access = new AccessSource();
        net.getSpec().access.chain = new ChainAccess();
        net.getSpec().access.chain.rpcUrls = List.of(anvil.rpcUrl());
        net.getSpec().access.chain.contractAddress = contract;
        kube.resource(net).inNamespace(NS).create();
        String k = key();
        VpnPeer p = new VpnPeer();
        p.setMetadata(new ObjectMetaBuilder().withName("edge-tee-1").build());
        p.setSpec(new VpnPeerSpec());
        p.getSpec().network = "edge";
        p.getSpec().nodeId = "tee-1";
        p.getSpec().publicKey = k;
        kube.resource(p).inNamespace(NS).create();
        // What the operator would report for a peer without a token.
        kube.resources(VpnPeer.class).inNamespace(NS).withName("edge-tee-1").subresource("status").patch(
                new PatchContext.Builder().withPatchType(PatchType.SERVER_SIDE_APPLY).withFieldManager("cli-it").withForce(true).build(),
                "{\"apiVersion\":\"vpn.dstack.io/v1alpha1\",\"kind\":\"VpnPeer\",\"metadata\":{\"name\":\"edge-tee-1\",\"namespace\":\"" + NS
                        + "\"},\"status\":{\"phase\":\"Pending\",\"reason\":\"NoToken\"}}");

        Run pending = run("pending", "-n", NS);
        assertThat(pending.out()).contains("edge-tee-1").contains("tee-1").contains("NoToken")
                .contains("dstack-vpn register <holder> --peer edge-tee-1 --vpn-network edge -n " + NS);

        // The VpnNetwork names the same contract and chain id as the admin's own settings, so it passes the check.
        Run byPeer = asOwner("register", Anvil.ACCOUNT_1, "--peer", "edge-tee-1", "--vpn-network", "edge", "-n", NS, "-o", "json");
        assertThat(byPeer.code()).as(byPeer.err()).isZero();
        assertThat(byPeer.json().get("nodeId").asText()).isEqualTo("tee-1");
        assertThat(byPeer.json().get("publicKey").asText()).isEqualTo(k);

        assertThat(run("status", "-n", NS).out()).contains("NETWORK").contains("edge").contains("10.55.0.0/24").contains("chain");

        String other = key();
        PeerSet set = new PeerSet("edge", 4, "10.55.0.0/24", 51820, 1420, "Mesh", null, null, List.of(
                new PeerSet.Peer("node-a", other, "10.55.0.1", "203.0.113.1:51820", "UDP", null),
                new PeerSet.Peer("tee-1", k, "10.55.0.2", null, "UDP", null)));
        // The layout the operator writes (ADR 0002): an index and one shard, found by their labels.
        String shardName = io.dstack.vpn.api.peerset.PeerSetShards.shardName("edge", 0, 1);
        var index = io.dstack.vpn.api.peerset.PeerSetIndex.of(set, List.of(new io.dstack.vpn.api.peerset.PeerSetIndex.ShardRef(shardName, 4, 2)));
        kube.resource(new ConfigMapBuilder().withNewMetadata().withName(PeerSetCodec.configMapName("edge")).withNamespace(NS)
                .addToLabels(VpnLabels.NETWORK, "edge").addToLabels(VpnLabels.COMPONENT, VpnLabels.COMPONENT_PEERSET).endMetadata()
                .addToData(PeerSetCodec.INDEX_KEY, PeerSetCodec.encodeIndex(index)).build()).serverSideApply();
        Run incomplete = run("config", "tee-1", "--vpn-network", "edge", "-n", NS);
        assertThat(incomplete.code()).as("the index names a shard that is not there yet").isEqualTo(ExitCodes.NOT_FOUND);
        assertThat(incomplete.err()).contains("being rewritten");
        kube.resource(new ConfigMapBuilder().withNewMetadata().withName(shardName).withNamespace(NS)
                .addToLabels(VpnLabels.NETWORK, "edge").addToLabels(VpnLabels.COMPONENT, VpnLabels.COMPONENT_PEERSET).endMetadata()
                .addToData(PeerSetCodec.PEERS_KEY, PeerSetCodec.encodeShard(new io.dstack.vpn.api.peerset.PeerSetShard("edge", 0, 1, 4, set.peers())))
                .build()).serverSideApply();
        Run config = run("config", "tee-1", "--vpn-network", "edge", "-n", NS);
        assertThat(config.code()).as(config.err()).isZero();
        assertThat(config.out()).contains("Address = 10.55.0.2/24").contains("PublicKey = " + other)
                .contains("Endpoint = 203.0.113.1:51820").contains("AllowedIPs = 10.55.0.1/32")
                .contains("PrivateKey = <the node's private key>");
        assertThat(run("config", "nobody", "--vpn-network", "edge", "-n", NS).code()).isEqualTo(ExitCodes.NOT_FOUND);
    }

    @Test
    void aKeyFileOrAKeystoreSignsWithoutPrivateKeyInTheEnvironment(@TempDir Path dir) throws Exception {
        Path keyFile = secretFile(dir, "owner.key", Anvil.PRIVATE_KEY_0 + "\n", "rw-------");
        Run byFile = run("register", Anvil.ACCOUNT_1, "node-f", "--public-key", key(), "--private-key-file", keyFile.toString(), "-o", "json");
        assertThat(byFile.code()).as(byFile.err()).isZero();

        String keystore = WalletUtils.generateWalletFile("pw", Credentials.create(Anvil.PRIVATE_KEY_0).getEcKeyPair(), dir.toFile(), false);
        Path password = secretFile(dir, "keystore.pw", "pw\n", "rw-------");
        Run byKeystore = run("revoke", byFile.json().get("tokenId").asText(), "--keystore", dir.resolve(keystore).toString(),
                "--keystore-password-file", password.toString(), "-o", "json");
        assertThat(byKeystore.code()).as(byKeystore.err()).isZero();
        assertThat(byKeystore.json().get("revoked").asBoolean()).isTrue();

        // The file wins over PRIVATE_KEY: a non-owner key in the environment does not matter.
        Run fileFirst = run(Map.of("PRIVATE_KEY", Anvil.PRIVATE_KEY_1), "register", Anvil.ACCOUNT_1, "node-f2", "--public-key", key(),
                "--private-key-file", keyFile.toString());
        assertThat(fileFirst.code()).as(fileFirst.err()).isZero();
    }

    @Test
    void aKeyFileOthersCanReadIsRefusedAndNoKeyReachesStderr(@TempDir Path dir) throws Exception {
        String before = nonce(Anvil.ACCOUNT_0);
        Path open = secretFile(dir, "open.key", Anvil.PRIVATE_KEY_0, "rw-r--r--");
        Run refused = run("register", Anvil.ACCOUNT_1, "node-p", "--public-key", key(), "--private-key-file", open.toString());
        assertThat(refused.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(refused.err()).contains("accessible to group or others").contains("chmod 600 " + open)
                .doesNotContain(Anvil.PRIVATE_KEY_0.substring(2));

        String almostAKey = Anvil.PRIVATE_KEY_1.substring(0, 60) + "zz";
        Path bad = secretFile(dir, "bad.key", almostAKey, "rw-------");
        Run badKey = run("register", Anvil.ACCOUNT_1, "node-p", "--public-key", key(), "--private-key-file", bad.toString());
        assertThat(badKey.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(badKey.err()).contains("does not hold a private key").doesNotContain(almostAKey.substring(2, 20));
        Run badEnv = run(Map.of("PRIVATE_KEY", almostAKey), "register", Anvil.ACCOUNT_1, "node-p", "--public-key", key());
        assertThat(badEnv.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(badEnv.err()).doesNotContain(almostAKey.substring(2, 20));
        assertThat(nonce(Anvil.ACCOUNT_0)).as("nothing was sent").isEqualTo(before);
    }

    @Test
    void theFeeCapRefusesBeforeAnythingIsSigned() throws Exception {
        String before = nonce(Anvil.ACCOUNT_0);
        // Congestion (or an endpoint that lies): a 100 gwei base fee is twenty times the default cap of 5 gwei.
        rpc(anvil, "anvil_setNextBlockBaseFeePerGas", "[\"0x174876e800\"]");
        rpc(anvil, "anvil_mine", "[\"0x1\"]");
        try {
            Run congested = asOwner("register", Anvil.ACCOUNT_1, "node-fee", "--public-key", key());
            assertThat(congested.code()).as(congested.err()).isEqualTo(ExitCodes.CONFIG);
            assertThat(congested.err()).contains("fee cap").contains("above the fee cap of 5 gwei").contains("nothing was signed");
        } finally {
            rpc(anvil, "anvil_setNextBlockBaseFeePerGas", "[\"0x3b9aca00\"]");
            rpc(anvil, "anvil_mine", "[\"0x1\"]");
        }
        Run tinyCap = asOwner("register", Anvil.ACCOUNT_1, "node-fee", "--public-key", key(), "--max-fee-gwei", "0.000001");
        assertThat(tinyCap.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(tinyCap.err()).contains("above the fee cap of 0.000001 gwei");
        Run tinyGas = asOwner("register", Anvil.ACCOUNT_1, "node-fee", "--public-key", key(), "--max-gas", "21000");
        assertThat(tinyGas.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(tinyGas.err()).contains("above the gas cap of 21000");
        assertThat(nonce(Anvil.ACCOUNT_0)).as("nothing was sent").isEqualTo(before);

        Run withinCap = asOwner("register", Anvil.ACCOUNT_1, "node-fee", "--public-key", key(), "--max-fee-gwei", "3", "-o", "json");
        assertThat(withinCap.code()).as(withinCap.err()).isZero();
        JsonNode tx = rpc(anvil, "eth_getTransactionByHash", "[\"" + withinCap.json().get("transaction").asText() + "\"]");
        assertThat(new java.math.BigInteger(tx.get("maxFeePerGas").asText().substring(2), 16)).isLessThanOrEqualTo(new java.math.BigInteger("3000000000"));
    }

    @Test
    void withoutABaseFeeTheTransactionIsLegacy() throws Exception {
        try (PreLondonProxy preLondon = new PreLondonProxy(anvil.rpcUrl())) {
            Run reg = run(Map.of("PRIVATE_KEY", Anvil.PRIVATE_KEY_0, "DSTACK_RPC_URL", preLondon.url()),
                    "register", Anvil.ACCOUNT_1, "node-l", "--public-key", key(), "-o", "json");
            assertThat(reg.code()).as(reg.err()).isZero();
            assertThat(txType(anvil, reg.json().get("transaction").asText())).isEqualTo("0x0");
        }
    }

    @Test
    void commandsThatSignTakeNothingFromTheCluster() throws Exception {
        // Whoever can edit a VpnNetwork chooses what it says: here an endpoint, a contract and a chain id.
        network("hostile-endpoint", List.of(anvil.rpcUrl()), contract, Anvil.BASE_CHAIN_ID);
        network("other-chain", List.of("http://127.0.0.1:1/"), contract, 1L);
        network("other-contract", List.of("http://127.0.0.1:1/"), "0x000000000000000000000000000000000000dEaD", Anvil.BASE_CHAIN_ID);
        Map<String, String> noEndpoint = Map.of("PRIVATE_KEY", Anvil.PRIVATE_KEY_0, "DSTACK_RPC_URL", "", "DSTACK_CONTRACT", "");

        Run noRpc = run(noEndpoint, "register", Anvil.ACCOUNT_1, "node-h", "--public-key", key(), "--vpn-network", "hostile-endpoint", "-n", NS);
        assertThat(noRpc.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(noRpc.err()).contains("no RPC endpoint").contains("never take it from the cluster");
        Run noContract = run(Map.of("PRIVATE_KEY", Anvil.PRIVATE_KEY_0, "DSTACK_CONTRACT", ""), "revoke", "1", "--vpn-network",
                "hostile-endpoint", "-n", NS);
        assertThat(noContract.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(noContract.err()).contains("no contract");

        Run otherChain = asOwner("register", Anvil.ACCOUNT_1, "node-h", "--public-key", key(), "--vpn-network", "other-chain", "-n", NS);
        assertThat(otherChain.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(otherChain.err()).contains("VpnNetwork other-chain names chain id 1, but yours").contains("is 8453");
        Run otherContract = asOwner("register", Anvil.ACCOUNT_1, "node-h", "--public-key", key(), "--vpn-network", "other-contract", "-n", NS);
        assertThat(otherContract.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(otherContract.err()).contains("VpnNetwork other-contract names contract 0x000000000000000000000000000000000000dEaD");

        // Commands that only read may still take everything from the VpnNetwork.
        Run read = run(Map.of("DSTACK_RPC_URL", "", "DSTACK_CONTRACT", ""), "verify", Anvil.ACCOUNT_1, "no-such-node", "--vpn-network",
                "hostile-endpoint", "-n", NS);
        assertThat(read.code()).as(read.err()).isEqualTo(ExitCodes.NO);
    }

    @Test
    void nodeBundleWritesASecretFreeComposeBundleThenCreatesThePeerAndMints(@TempDir Path dir) throws Exception {
        network("outside", List.of(anvil.rpcUrl()), contract, null);
        WireGuardKey apiKey = WireGuardKey.generatePrivate();
        Path bundle = dir.resolve("tee-9");
        Run noProxy = run("node-bundle", "tee-9", "--vpn-network", "outside", "-n", NS, "--out", bundle.toString(),
                "--node-api-key", apiKey.publicKey().toBase64(), "--node-api-url", "https://vpn.example.com", "--image", "agent@sha256:" + "a".repeat(64));
        assertThat(noProxy.code()).isEqualTo(ExitCodes.CONFIG);
        assertThat(noProxy.err()).contains("has no proxy");

        kube.resources(VpnNetwork.class).inNamespace(NS).withName("outside").edit(n -> {
            n.getSpec().proxy = new io.dstack.vpn.api.v1alpha1.ProxySpec();
            n.getSpec().proxy.enabled = true;
            return n;
        });
        // The key from the chart's Secret: the CLI derives the public half and never prints the private one.
        kube.resource(new io.fabric8.kubernetes.api.model.SecretBuilder().withNewMetadata().withName("dstack-vpn-node-api-key").withNamespace(NS)
                .endMetadata().addToStringData("current", apiKey.toBase64()).build()).serverSideApply();
        String image = "ghcr.io/dstack-vpn/agent@sha256:" + "b".repeat(64);
        Run written = run("node-bundle", "tee-9", "--vpn-network", "outside", "-n", NS, "--out", bundle.toString(),
                "--node-api-url", "https://vpn.example.com", "--image", image, "-o", "json");
        assertThat(written.code()).as(written.err()).isZero();
        assertThat(written.json().get("nodeApiKey").asText()).isEqualTo(apiKey.publicKey().toBase64());
        String env = Files.readString(bundle.resolve("node.env"));
        assertThat(env).contains("AGENT_MODE=standalone").contains("NAMESPACE=" + NS).contains("NETWORK=outside").contains("NODE_ID=tee-9")
                .contains("NODE_API_URL=https://vpn.example.com").contains("NODE_API_KEY=" + apiKey.publicKey().toBase64()).contains("TRANSPORT=TCP")
                .contains("HTTP_BIND=127.0.0.1");
        String compose = Files.readString(bundle.resolve("docker-compose.yaml"));
        assertThat(compose).contains("image: " + image).contains("env_file: [node.env]").contains("NET_ADMIN").doesNotContain("DSTACK_VPN_IMAGE");
        for (String f : List.of("node.env", "docker-compose.yaml", "README.txt")) {
            assertThat(Files.readString(bundle.resolve(f))).as(f + " holds no secret").doesNotContain(apiKey.toBase64());
        }
        assertThat(written.out() + written.err()).doesNotContain(apiKey.toBase64());
        assertThat(kube.resources(VpnPeer.class).inNamespace(NS).withName("outside-tee-9").get()).as("no key given: no VpnPeer yet").isNull();

        Run hostile = run("node-bundle", "tee-9", "--vpn-network", "outside", "-n", NS, "--out", bundle.toString(),
                "--node-api-url", "file:///etc/passwd", "--image", image);
        assertThat(hostile.code()).isEqualTo(ExitCodes.USAGE);
        assertThat(run("node-bundle", "Tee_9", "--vpn-network", "outside", "-n", NS, "--out", bundle.toString()).code()).isEqualTo(ExitCodes.USAGE);

        String nodeKey = key();
        Run granted = run(Map.of("PRIVATE_KEY", Anvil.PRIVATE_KEY_0), "node-bundle", "tee-9", "--vpn-network", "outside", "-n", NS,
                "--out", bundle.toString(), "--node-api-url", "https://vpn.example.com", "--image", image,
                "--public-key", nodeKey, "--holder", Anvil.ACCOUNT_1, "-o", "json");
        assertThat(granted.code()).as(granted.err()).isZero();
        VpnPeer peer = kube.resources(VpnPeer.class).inNamespace(NS).withName("outside-tee-9").get();
        assertThat(peer.getSpec().publicKey).isEqualTo(nodeKey);
        assertThat(peer.getSpec().transport).isEqualTo(VpnPeerSpec.Transport.TCP);
        assertThat(peer.getSpec().nodeName).isNull();
        assertThat(run("verify", Anvil.ACCOUNT_1, "tee-9").code()).as("the NFT is minted to the holder").isEqualTo(ExitCodes.OK);
        assertThat(granted.json().get("tokenId").asText()).isNotBlank();
    }

    static void network(String name, List<String> rpcUrls, String contractAddress, Long chainId) {
        VpnNetwork net = new VpnNetwork();
        net.setMetadata(new ObjectMetaBuilder().withName(name).build());
        net.setSpec(new VpnNetworkSpec());
        net.getSpec().cidr = "10.56.0.0/24";
        net.getSpec().access = new AccessSource();
        net.getSpec().access.chain = new ChainAccess();
        net.getSpec().access.chain.rpcUrls = rpcUrls;
        net.getSpec().access.chain.contractAddress = contractAddress;
        net.getSpec().access.chain.chainId = chainId;
        kube.resource(net).inNamespace(NS).serverSideApply();
    }

    @Test
    void worksAsAKubectlPlugin() throws Exception {
        // kubectl finds `kubectl-dstack_vpn` on PATH and runs it for `kubectl dstack-vpn`.
        ProcessBuilder pb = new ProcessBuilder(RealApiServer.get().kubectl().toString(), "dstack-vpn", "--help").redirectErrorStream(true);
        pb.environment().put("PATH", RealApiServer.repoRoot().resolve("cli/bin") + ":" + System.getenv("PATH"));
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
        assertThat(out).contains("Usage: dstack-vpn").contains("register").contains("Exit codes:");
    }
}
