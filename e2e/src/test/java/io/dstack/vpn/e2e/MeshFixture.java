package io.dstack.vpn.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.dstack.vpn.api.peerset.StoredPeerSet;
import io.dstack.vpn.api.v1alpha1.ProxySpec;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
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

/**
 * A whole mesh on real components, as the mesh tests and benchmarks need it: anvil with our contract, the packaged
 * operator watching one namespace, a chain-gated VpnNetwork, and simulated nodes (network namespaces with
 * wireguard-go) each with its agent process. Tokens are minted by the contract owner to {@link Anvil#ACCOUNT_1}.
 * {@link #close()} stops and removes all of it.
 */
final class MeshFixture implements AutoCloseable {

    /**
     * @param proxyPort enables the network's UDP-over-TCP proxy on this port; null = off
     * @param tcpNodes  nodes whose agent uses transport TCP and whose UDP is blocked
     * @param relayRpc  the operator reads the chain through a {@link TcpRelay} the test can cut
     */
    public record Options(String namespace, String network, String cidr, List<String> nodeIds, Integer blockTime,
            Integer proxyPort, Set<String> tcpNodes, boolean relayRpc) {
    }

    public final KubernetesClient client;
    public final Anvil anvil;
    public final TcpRelay rpcRelay;
    public final String contract;
    public final SimulatedNetwork net;
    public final Path keys;
    public final Map<String, SimulatedNode> nodes = new LinkedHashMap<>();
    public final Map<String, AgentProcess> agents = new LinkedHashMap<>();
    public final Map<String, BigInteger> tokens = new LinkedHashMap<>();
    private final Options options;
    private OperatorProcess operator;

    private MeshFixture(Options options, Anvil anvil, TcpRelay rpcRelay, String contract) throws IOException {
        this.options = options;
        this.anvil = anvil;
        this.rpcRelay = rpcRelay;
        this.contract = contract;
        this.client = RealApiServer.get().client();
        this.net = new SimulatedNetwork();
        this.keys = Files.createTempDirectory("dstack-vpn-keys");
    }

    /** Starts everything; on a failure, stops what had started and rethrows. */
    public static MeshFixture start(Options options) throws Exception {
        Anvil anvil = Anvil.start(options.blockTime() == null ? Anvil.Options.defaults() : Anvil.Options.defaults().withBlockTime(options.blockTime()));
        MeshFixture mesh = null;
        try {
            TcpRelay relay = options.relayRpc() ? new TcpRelay(anvil.port()) : null;
            String contract = writer(anvil, Anvil.PRIVATE_KEY_0).deploy(ContractArtifact.bytecode(RealApiServer.repoRoot())).contractAddress();
            mesh = new MeshFixture(options, anvil, relay, contract);
            mesh.startControlPlane();
            for (String id : options.nodeIds()) {
                SimulatedNode node = mesh.net.addNode(id.startsWith("node-") ? id.substring(5) : id);
                node.startWireGuard("wg0");
                mesh.nodes.put(id, node);
                mesh.agents.put(id, mesh.startAgent(id));
            }
            for (String id : options.tcpNodes()) {
                mesh.nodes.get(id).blockUdp();
            }
            return mesh;
        } catch (Exception | Error e) {
            if (mesh != null) {
                mesh.close();
            } else {
                anvil.close();
            }
            throw e;
        }
    }

    private void startControlPlane() throws IOException {
        client.resource(new NamespaceBuilder().withNewMetadata().withName(options.namespace()).endMetadata().build()).serverSideApply();
        operator = OperatorProcess.start(RealApiServer.get().kubeconfig(), options.namespace());
        String rpcUrl = rpcRelay != null ? rpcRelay.httpUrl() : anvil.rpcUrl();
        VpnNetwork n = TestResources.chainNetwork(options.network(), options.cidr(), rpcUrl, contract, 1, "200ms");
        if (options.proxyPort() != null) {
            n.getSpec().proxy = new ProxySpec();
            n.getSpec().proxy.enabled = true;
            n.getSpec().proxy.port = options.proxyPort();
        }
        client.resource(n).inNamespace(options.namespace()).create();
    }

    /** Starts (or starts again) the agent of {@code nodeId} with its key directory. */
    public AgentProcess startAgent(String nodeId) throws IOException {
        Map<String, String> env = options.tcpNodes().contains(nodeId) ? Map.of("TRANSPORT", "TCP") : Map.of();
        return AgentProcess.start(nodes.get(nodeId), nodeId, options.namespace(), options.network(), keys.resolve(nodeId), env);
    }

    /** Stops the agent of {@code nodeId}, runs {@code meanwhile}, starts it again. */
    public void restartAgent(String nodeId, ThrowingRunnable meanwhile) throws Exception {
        agents.get(nodeId).close();
        meanwhile.run();
        agents.put(nodeId, startAgent(nodeId));
    }

    public interface ThrowingRunnable {
        void run() throws Exception;
    }

    public OperatorProcess operator() {
        return operator;
    }

    /** SIGKILLs the operator, runs {@code meanwhile}, starts a new one. */
    public void killOperator(ThrowingRunnable meanwhile) throws Exception {
        operator.kill();
        meanwhile.run();
        operator = OperatorProcess.start(RealApiServer.get().kubeconfig(), options.namespace());
    }

    public ContractWriter writer(String privateKey) {
        return writer(anvil, privateKey);
    }

    private static ContractWriter writer(Anvil anvil, String privateKey) {
        return new ContractWriter(RpcClient.of(List.of(anvil.rpcUrl()), RpcListener.NONE), privateKey, Anvil.BASE_CHAIN_ID,
                Duration.ofSeconds(30));
    }

    /** Mints a token binding {@code nodeId} to its agent's current key. */
    public BigInteger grant(String nodeId) {
        BigInteger token = writer(Anvil.PRIVATE_KEY_0).mint(contract, Anvil.ACCOUNT_1, nodeId, key(nodeId), "").mintedTokenId();
        tokens.put(nodeId, token);
        return token;
    }

    public VpnPeer peer(String nodeId) {
        return client.resources(VpnPeer.class).inNamespace(options.namespace()).withName(options.network() + "-" + nodeId).get();
    }

    public VpnNetwork network() {
        return client.resources(VpnNetwork.class).inNamespace(options.namespace()).withName(options.network()).get();
    }

    public String key(String nodeId) {
        return peer(nodeId).getSpec().publicKey;
    }

    public String address(String nodeId) {
        return peer(nodeId).getStatus().address;
    }

    /** The generation of the rendered peer set. */
    public long generation() {
        return StoredPeerSet.readWhole(client, options.namespace(), options.network()).orElseThrow().generation();
    }

    /** Whether the WireGuard device of {@code onNode} holds a peer with {@code publicKey}. */
    public boolean hasPeer(String onNode, String publicKey) throws IOException {
        return nodes.get(onNode).wireGuardPeers("wg0").contains(publicKey);
    }

    static final Duration WAIT = Duration.ofSeconds(90);

    /** Grants every node as soon as its agent has published its VpnPeer, then waits until all are Active. */
    public void admitAll() throws IOException {
        for (String id : nodes.keySet()) {
            await().atMost(WAIT).untilAsserted(() -> assertThat(peer(id)).as(id).isNotNull());
            grant(id);
        }
        anvil.rpc("anvil_mine", "[\"0x1\"]"); // the confirmation the network asks for
        for (String id : nodes.keySet()) {
            await().atMost(WAIT).ignoreExceptions().untilAsserted(() ->
                    assertThat(peer(id).getStatus().phase).as(id).isEqualTo(io.dstack.vpn.api.v1alpha1.VpnPeerPhase.Active));
        }
    }

    /** Every other node holds {@code nodeId}'s key and pings it across the overlay. */
    public void awaitIn(String nodeId) {
        String k = key(nodeId);
        for (String other : nodes.keySet()) {
            if (!other.equals(nodeId)) {
                await().atMost(WAIT).ignoreExceptions().untilAsserted(() -> assertThat(hasPeer(other, k)).as("%s has %s", other, nodeId).isTrue());
                await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                    var ping = nodes.get(other).ping(address(nodeId), 2);
                    assertThat(ping.success()).as("%s -> %s: %s", other, nodeId, ping.output()).isTrue();
                });
            }
        }
    }

    /** No other node holds {@code publicKey} any more, and pings to {@code nodeId} go unanswered. */
    public void awaitCut(String nodeId, String publicKey) {
        String addr = address(nodeId);
        for (String other : nodes.keySet()) {
            if (!other.equals(nodeId)) {
                await().atMost(WAIT).ignoreExceptions().untilAsserted(() -> assertThat(hasPeer(other, publicKey)).as("%s dropped %s", other, nodeId).isFalse());
                assertThat(nodes.get(other).ping(addr, 2).success()).as("%s -> %s is cut", other, nodeId).isFalse();
            }
        }
    }

    @Override
    public void close() {
        agents.values().forEach(AgentProcess::close);
        net.close();
        if (operator != null) {
            operator.close();
        }
        if (rpcRelay != null) {
            rpcRelay.close();
        }
        anvil.close();
    }
}
