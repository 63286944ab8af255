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

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

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

        assertThat(run("verify", Anvil.ACCOUNT_1, "node-r").code()).isEqualTo(ExitCodes.OK);
        assertThat(run("verify", Anvil.ACCOUNT_2, "node-r").code()).isEqualTo(ExitCodes.NO);

        Run info = run("info", "node-r", "-o", "json");
        assertThat(info.json().get("publicKey").asText()).isEqualTo(k);
        assertThat(info.json().get("tokenId").asText()).isEqualTo(tokenId);
        assertThat(run("info", tokenId).out()).contains("node-r").contains(k);

        Run list = run("list");
        assertThat(list.code()).isZero();
        assertThat(list.out()).contains("TOKENID").contains("node-r").contains(k);

        Run revoke = asOwner("revoke", tokenId, "-o", "yaml");
        assertThat(revoke.code()).as(revoke.err()).isZero();
        assertThat(revoke.out()).contains("revoked: true");
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

        Run byPeer = run(Map.of("PRIVATE_KEY", Anvil.PRIVATE_KEY_0, "DSTACK_RPC_URL", "", "DSTACK_CONTRACT", ""),
                "register", Anvil.ACCOUNT_1, "--peer", "edge-tee-1", "--vpn-network", "edge", "-n", NS, "-o", "json");
        assertThat(byPeer.code()).as(byPeer.err()).isZero();
        assertThat(byPeer.json().get("nodeId").asText()).isEqualTo("tee-1");
        assertThat(byPeer.json().get("publicKey").asText()).isEqualTo(k);

        assertThat(run("status", "-n", NS).out()).contains("NETWORK").contains("edge").contains("10.55.0.0/24").contains("chain");

        String other = key();
        PeerSet set = new PeerSet("edge", 4, "10.55.0.0/24", 51820, 1420, "Mesh", null, null, List.of(
                new PeerSet.Peer("node-a", other, "10.55.0.1", "203.0.113.1:51820", "UDP", null),
                new PeerSet.Peer("tee-1", k, "10.55.0.2", null, "UDP", null)));
        kube.resource(new ConfigMapBuilder().withNewMetadata().withName(PeerSetCodec.configMapName("edge")).withNamespace(NS).endMetadata()
                .addToData(PeerSetCodec.PEERS_KEY, PeerSetCodec.encode(set)).build()).serverSideApply();
        Run config = run("config", "tee-1", "--vpn-network", "edge", "-n", NS);
        assertThat(config.code()).as(config.err()).isZero();
        assertThat(config.out()).contains("Address = 10.55.0.2/24").contains("PublicKey = " + other)
                .contains("Endpoint = 203.0.113.1:51820").contains("AllowedIPs = 10.55.0.1/32")
                .contains("PrivateKey = <the node's private key>");
        assertThat(run("config", "nobody", "--vpn-network", "edge", "-n", NS).code()).isEqualTo(ExitCodes.NOT_FOUND);
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
