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
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.dstack.vpn.agent.uapi.DeviceState;
import io.dstack.vpn.agent.uapi.UapiClient;
import io.dstack.vpn.api.peerset.PeerSetCodec;
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
import io.dstack.vpn.testing.TestResources;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * A node whose UDP is blocked (nftables drops every UDP packet on its eth0) joins the mesh with transport TCP:
 * its WireGuard traffic rides our UDP-over-TCP proxy to the other nodes' proxies. Everything real: API server,
 * operator, anvil with the contract, wireguard-go in network namespaces, agent processes, proxy processes.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ProxyTransportIT {
    static final String NS = "proxy-transport";
    static final String NET = "tcpnet";
    static final int PROXY_PORT = 8443;
    static final Duration WAIT = Duration.ofSeconds(90);
    static final List<String> NODES = List.of("node-a", "node-b", "node-c");
    static final String TCP_NODE = "node-c";

    static KubernetesClient client;
    static Anvil anvil;
    static ContractWriter admin;
    static String contract;
    static OperatorProcess operator;
    static SimulatedNetwork net;
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

        VpnNetwork n = TestResources.chainNetwork(NET, "10.67.0.0/24", anvil.rpcUrl(), contract, 1, "200ms");
        n.getSpec().proxy = new ProxySpec();
        n.getSpec().proxy.enabled = true;
        n.getSpec().proxy.port = PROXY_PORT;
        client.resource(n).inNamespace(NS).create();

        net = new SimulatedNetwork();
        Path keys = Files.createTempDirectory("dstack-vpn-keys");
        for (String id : NODES) {
            SimulatedNode node = net.addNode(id.substring(5));
            node.startWireGuard("wg0");
            nodes.put(id, node);
            Map<String, String> env = id.equals(TCP_NODE) ? Map.of("TRANSPORT", "TCP") : Map.of();
            agents.put(id, AgentProcess.start(node, id, NS, NET, keys.resolve(id), env));
        }
        nodes.get(TCP_NODE).blockUdp();
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

    @Test
    @Order(1)
    void theUdpBlockedNodeReachesEveryNodeThroughTheProxy() throws Exception {
        for (String id : NODES) {
            await().atMost(WAIT).untilAsserted(() -> assertThat(peer(id)).as(id).isNotNull());
            tokens.put(id, admin.mint(contract, Anvil.ACCOUNT_1, id, peer(id).getSpec().publicKey, "").mintedTokenId());
        }
        assertThat(peer(TCP_NODE).getSpec().transport).isEqualTo(io.dstack.vpn.api.v1alpha1.VpnPeerSpec.Transport.TCP);
        anvil.rpc("anvil_mine", "[\"0x1\"]");
        for (String id : NODES) {
            await().atMost(WAIT).untilAsserted(() -> assertThat(peer(id).getStatus().phase).isEqualTo(VpnPeerPhase.Active));
        }
        for (String id : NODES) {
            await().atMost(WAIT).ignoreExceptions().untilAsserted(() -> assertThat(peer(id).getStatus().applied.generation).isEqualTo(generation()));
        }
        // Proof that UDP is cut for node-c: plain UDP to a peer's WireGuard port never gets through.
        assertThat(nodes.get(TCP_NODE).exec("ping", "-c", "1", "-W", "1", nodes.get("node-a").underlayAddress()).ok())
                .as("ICMP still passes on the underlay").isTrue();
        for (String from : NODES) {
            for (String to : NODES) {
                if (!from.equals(to)) {
                    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                        var ping = nodes.get(from).ping(address(to), 2);
                        assertThat(ping.success()).as("%s -> %s: %s", from, to, ping.output()).isTrue();
                    });
                }
            }
        }
        // node-c's peers are its local tunnels; node-a learned node-c at its proxy's loopback socket.
        assertThat(device(TCP_NODE).peers().values()).allSatisfy(p -> assertThat(p.endpoint()).startsWith("127.0.0.1:"));
        String keyC = peer(TCP_NODE).getSpec().publicKey;
        assertThat(device("node-a").peers().get(keyC).endpoint()).startsWith("127.0.0.1:");
        assertThat(agents.get(TCP_NODE).metrics()).contains("dstack_vpn_agent_proxy_tunnels 2");
        assertThat(nodes.get(TCP_NODE).exec("nft", "list", "table", "inet", "dv_block_udp").output()).contains("udp drop");
    }

    @Test
    @Order(2)
    void aBulkTransferFromTheTcpNodeArrivesWhole() throws Exception {
        long bytes = 8L << 20;
        String overlayA = address("node-a");
        // A receiver on node-a's overlay address counts what arrives; node-c sends 8 MiB through the tunnel.
        Process receiver = new ProcessBuilder("ip", "netns", "exec", nodes.get("node-a").netns(), "python3", "-c", """
                import socket, sys
                s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((sys.argv[1], 5001)); s.listen(1); print("listening", flush=True)
                c, _ = s.accept(); n = 0
                while True:
                    b = c.recv(1 << 16)
                    if not b: break
                    n += len(b)
                print(n, flush=True)
                """, overlayA).redirectErrorStream(true).start();
        try {
            String ready = new java.io.BufferedReader(new java.io.InputStreamReader(receiver.getInputStream())).readLine();
            assertThat(ready).isEqualTo("listening");
            long t0 = System.nanoTime();
            var send = nodes.get(TCP_NODE).exec(Duration.ofSeconds(120), "python3", "-c", """
                    import socket, sys
                    s = socket.create_connection((sys.argv[1], 5001), timeout=60)
                    chunk = b"x" * 65536
                    for _ in range(int(sys.argv[2]) // 65536): s.sendall(chunk)
                    s.close()
                    """, overlayA, Long.toString(bytes));
            assertThat(send.ok()).as(send.output()).isTrue();
            assertThat(receiver.waitFor(60, TimeUnit.SECONDS)).isTrue();
            double seconds = (System.nanoTime() - t0) / 1e9;
            String received = new String(receiver.getInputStream().readAllBytes()).strip();
            assertThat(received).isEqualTo(Long.toString(bytes));
            System.out.printf("bulk transfer node-c -> node-a over WireGuard over TCP: %d MiB in %.2f s (%.1f Mbit/s)%n",
                    bytes >> 20, seconds, bytes * 8 / seconds / 1e6);
        } finally {
            receiver.destroyForcibly();
        }
    }

    @Test
    @Order(3)
    void revokingTheTcpNodeCutsItLikeAnyOther() throws Exception {
        String keyC = peer(TCP_NODE).getSpec().publicKey;
        admin.revoke(contract, tokens.get(TCP_NODE));
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(device("node-a").peers()).doesNotContainKey(keyC);
            assertThat(device("node-b").peers()).doesNotContainKey(keyC);
        });
        assertThat(nodes.get("node-a").ping(address("node-b"), 2).success()).isTrue();
        assertThat(nodes.get(TCP_NODE).ping(address("node-a"), 2).success()).as("node-c is cut").isFalse();
    }
}
