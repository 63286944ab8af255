package io.dstack.vpn.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.dstack.vpn.agent.uapi.UapiClient;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.api.v1alpha1.VpnPeerSpec;
import io.dstack.vpn.testing.Anvil;

/**
 * A node whose UDP is blocked (nftables drops every UDP packet on its eth0) joins the mesh with transport TCP:
 * its WireGuard traffic rides our UDP-over-TCP proxy to the other nodes' proxies. Everything real: API server,
 * operator, anvil with the contract, wireguard-go in network namespaces, agent processes, proxy processes.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ProxyTransportIT {
    static final List<String> NODES = List.of("node-a", "node-b", "node-c");
    static final String TCP_NODE = "node-c";
    static final Duration WAIT = Duration.ofSeconds(90);
    static MeshFixture mesh;

    @BeforeAll
    static void start() throws Exception {
        mesh = MeshFixture.start(new MeshFixture.Options("proxy-transport", "tcpnet", "10.67.0.0/24", NODES, null, 8443,
                Set.of(TCP_NODE), false));
    }

    @AfterAll
    static void stop() {
        if (mesh != null) {
            mesh.close();
        }
    }

    @Test
    @Order(1)
    void theUdpBlockedNodeReachesEveryNodeThroughTheProxy() throws Exception {
        mesh.admitAll();
        assertThat(mesh.peer(TCP_NODE).getSpec().transport).isEqualTo(VpnPeerSpec.Transport.TCP);
        NODES.forEach(mesh::awaitIn);
        // node-c's peers are its local tunnels; node-a learned node-c at its proxy's loopback socket.
        var deviceC = new UapiClient(mesh.nodes.get(TCP_NODE).uapiSocket("wg0")).get();
        assertThat(deviceC.peers().values()).allSatisfy(p -> assertThat(p.endpoint()).startsWith("127.0.0.1:"));
        var deviceA = new UapiClient(mesh.nodes.get("node-a").uapiSocket("wg0")).get();
        assertThat(deviceA.peers().get(mesh.key(TCP_NODE)).endpoint()).startsWith("127.0.0.1:");
        assertThat(mesh.agents.get(TCP_NODE).metrics()).contains("dstack_vpn_agent_proxy_tunnels 2");
        assertThat(mesh.nodes.get(TCP_NODE).exec("nft", "list", "table", "inet", "dv_block_udp").output()).contains("udp drop");
    }

    @Test
    @Order(2)
    void aBulkTransferFromTheTcpNodeArrivesWhole() throws Exception {
        long bytes = 8L << 20;
        String overlayA = mesh.address("node-a");
        // A receiver on node-a's overlay address counts what arrives; node-c sends 8 MiB through the tunnel.
        Process receiver = new ProcessBuilder("ip", "netns", "exec", mesh.nodes.get("node-a").netns(), "python3", "-c", """
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
            BufferedReader out = new BufferedReader(new InputStreamReader(receiver.getInputStream()));
            assertThat(out.readLine()).isEqualTo("listening");
            long t0 = System.nanoTime();
            var send = mesh.nodes.get(TCP_NODE).exec(Duration.ofSeconds(120), "python3", "-c", """
                    import socket, sys
                    s = socket.create_connection((sys.argv[1], 5001), timeout=60)
                    chunk = b"x" * 65536
                    for _ in range(int(sys.argv[2]) // 65536): s.sendall(chunk)
                    s.close()
                    """, overlayA, Long.toString(bytes));
            assertThat(send.ok()).as(send.output()).isTrue();
            assertThat(receiver.waitFor(60, TimeUnit.SECONDS)).isTrue();
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertThat(out.readLine()).isEqualTo(Long.toString(bytes));
            System.out.printf("bulk transfer node-c -> node-a over WireGuard over TCP: %d MiB in %.2f s (%.1f Mbit/s)%n",
                    bytes >> 20, seconds, bytes * 8 / seconds / 1e6);
        } finally {
            receiver.destroyForcibly();
        }
    }

    @Test
    @Order(3)
    void revokingTheTcpNodeCutsItLikeAnyOther() throws Exception {
        mesh.writer(Anvil.PRIVATE_KEY_0).revoke(mesh.contract, mesh.tokens.get(TCP_NODE));
        mesh.awaitCut(TCP_NODE, mesh.key(TCP_NODE));
        assertThat(mesh.nodes.get("node-a").ping(mesh.address("node-b"), 2).success()).isTrue();
    }
}
