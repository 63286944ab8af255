package io.dstack.vpn.agent.nodeapi;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dstack.vpn.agent.Agent;
import io.dstack.vpn.agent.node.KeyStore;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerSpec;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.testing.RealApiServer;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The standalone agent (AGENT_MODE=standalone, ADR 0015) end to end on real components but WireGuard: the real API
 * server holds peer sets and VpnPeers as the operator and the CLI write them, the node API serves them, and the
 * agent, built from its environment as in a compose file, has no Kubernetes client at all. The device is the memory
 * backend (the kind e2e runs the same over real wireguard-go). Pending: nothing applied; admitted: the set applied
 * and the status written through the node API; a change: applied by the long poll; revoked: the node keeps its last
 * set and gets no newer one; granted again: it catches up by itself.
 */
class StandaloneAgentIT {
    static final String NS = "standalone-it";
    static final String NET = "mesh";
    static final WireGuardKey SERVER = WireGuardKey.generatePrivate();
    static final String KIND1 = WireGuardKey.generatePrivate().publicKey().toBase64();
    static final String KIND2 = WireGuardKey.generatePrivate().publicKey().toBase64();

    static KubernetesClient kube;
    static NodeApiServer server;
    static PeerSetObjects sets;
    static Path keyDir;
    static String teeKey;
    static long generation;

    @BeforeAll
    static void start() throws Exception {
        kube = RealApiServer.get().client();
        kube.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();
        keyDir = Files.createTempDirectory("standalone-it");
        teeKey = new KeyStore(keyDir).loadOrCreate().publicKey().toBase64(); // as `keygen` does before the first start
        VpnPeer tee = new VpnPeer(); // as `node-bundle --public-key` writes it
        tee.setMetadata(new ObjectMetaBuilder().withName(NET + "-tee-1").withNamespace(NS).build());
        tee.setSpec(new VpnPeerSpec());
        tee.getSpec().network = NET;
        tee.getSpec().nodeId = "tee-1";
        tee.getSpec().publicKey = teeKey;
        tee.getSpec().transport = VpnPeerSpec.Transport.TCP;
        kube.resource(tee).serverSideApply();
        sets = new PeerSetObjects(NS, NET, null);
        publish(List.of(kind(1, KIND1)));
        server = NodeApiServer.start(kube, NodeApiServer.Settings.defaults(NS, 0)
                .withBind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).withPollTimeout(Duration.ofSeconds(5)), SERVER, null);
        await("the node API ready", server::ready);
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    static PeerSet.Peer kind(int host, String key) {
        return new PeerSet.Peer("kind-" + host, key, "10.100.0." + host, "192.0.2." + host + ":51820", "UDP", null);
    }

    static PeerSet.Peer tee() {
        return new PeerSet.Peer("tee-1", teeKey, "10.100.0.50", null, "TCP", 25);
    }

    static long publish(List<PeerSet.Peer> peers) {
        generation++;
        sets.write(kube, generation, peers, 2);
        return generation;
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    static Set<String> peers(Agent agent) {
        try {
            return agent.device().state().peers().keySet();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    static Long appliedGeneration() {
        VpnPeer p = kube.resources(VpnPeer.class).inNamespace(NS).withName(NET + "-tee-1").get();
        return p.getStatus() == null || p.getStatus().applied == null ? null : p.getStatus().applied.generation;
    }

    @Test
    void joinsFollowsIsCutOffWhenRevokedAndCatchesUpWhenGrantedAgain() throws Exception {
        Map<String, String> env = new HashMap<>(Map.of("AGENT_MODE", "standalone", "NAMESPACE", NS, "NETWORK", NET, "NODE_ID", "tee-1",
                "NODE_API_URL", "http://127.0.0.1:" + server.port(), "NODE_API_KEY", SERVER.publicKey().toBase64(),
                "KEY_DIR", keyDir.toString(), "WG_BACKEND", "memory", "HTTP_PORT", "0", "STATUS_SPREAD_MAX_MS", "0"));
        env.put("STATS_SECONDS", "1");
        Agent agent = Agent.standalone(env);
        try {
            agent.start();
            // Pending: the node API refuses it; it applies nothing and waits.
            Thread.sleep(1500);
            assertThat(peers(agent)).as("not a member yet").isEmpty();
            assertThat(appliedGeneration()).isNull();

            // Admitted: the set is applied and its status written through the node API.
            long admitted = publish(List.of(kind(1, KIND1), tee()));
            await("the peer set applied once admitted", () -> peers(agent).equals(Set.of(KIND1)));
            await("status.applied written through the node API", () -> Long.valueOf(admitted).equals(appliedGeneration()));

            // A change reaches it by the long poll.
            long t0 = System.nanoTime();
            long added = publish(List.of(kind(1, KIND1), kind(2, KIND2), tee()));
            await("a new peer applied", () -> peers(agent).equals(Set.of(KIND1, KIND2)));
            System.out.printf("[standalone] generation %d applied %d ms after it was written%n", added, (System.nanoTime() - t0) / 1_000_000);
            await("status of the new generation", () -> Long.valueOf(added).equals(appliedGeneration()));

            // Revoked: the node is out of the set. It keeps its last set (its peers have dropped it) and gets nothing newer.
            publish(List.of(kind(1, KIND1), kind(2, KIND2)));
            publish(List.of(kind(1, KIND1)));
            Thread.sleep(3000);
            assertThat(peers(agent)).as("a revoked node learns nothing newer").isEqualTo(Set.of(KIND1, KIND2));
            assertThat(appliedGeneration()).as("nor writes its status").isEqualTo(added);

            // Granted again: it catches up on its own (it keeps asking every 2 s).
            long regranted = publish(List.of(kind(1, KIND1), tee()));
            await("caught up after the new grant", () -> peers(agent).equals(Set.of(KIND1)));
            await("status after the new grant", () -> Long.valueOf(regranted).equals(appliedGeneration()));
        } finally {
            agent.close();
        }
    }
}
