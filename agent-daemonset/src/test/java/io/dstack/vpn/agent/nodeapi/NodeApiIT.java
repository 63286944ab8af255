package io.dstack.vpn.agent.nodeapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dstack.vpn.agent.PeerSetWatcher;
import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetShards;
import io.dstack.vpn.api.status.ConditionSet;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerSpec;
import io.dstack.vpn.api.v1alpha1.VpnPeerStatus;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.testing.RealApiServer;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntry;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The node API against a real kube-apiserver (ADR 0015): peer sets written as the operator writes them, VpnPeers as
 * the CLI creates them, nodes talking through {@link NodeApiClient} or, for what the client would never send, raw
 * sockets. A member reads the set, is woken by new generations and writes its status; everything else is refused;
 * hostile HTTP neither crashes the server nor holds it.
 */
class NodeApiIT {
    static final String NS = "node-api-it";
    static final String MESH = "mesh";
    static final String OTHER = "other";
    static final Duration POLL = Duration.ofSeconds(2);
    static final WireGuardKey SERVER = WireGuardKey.generatePrivate();
    static final WireGuardKey TEE1 = WireGuardKey.generatePrivate();
    static final WireGuardKey TEE2 = WireGuardKey.generatePrivate();
    static final WireGuardKey TEE3 = WireGuardKey.generatePrivate();
    static final WireGuardKey TEE3_SPEC = WireGuardKey.generatePrivate();
    static final WireGuardKey KIND1 = WireGuardKey.generatePrivate();
    static final WireGuardKey TEE9 = WireGuardKey.generatePrivate();
    static final WireGuardKey STRANGER = WireGuardKey.generatePrivate();

    static KubernetesClient kube;
    static NodeApiServer server;
    static PeerSetObjects mesh;
    static long generation;

    @BeforeAll
    static void start() throws IOException {
        kube = RealApiServer.get().client();
        kube.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();
        vpnPeer(MESH, "tee-1", TEE1, null);
        vpnPeer(MESH, "tee-2", TEE2, null);
        vpnPeer(MESH, "tee-3", TEE3_SPEC, null); // the set lists TEE3: a rotation the set has not caught up with
        vpnPeer(MESH, "kind-1", KIND1, "kind-worker");
        vpnPeer(OTHER, "tee-9", TEE9, null);
        mesh = new PeerSetObjects(NS, MESH);
        publish(base(), 2);
        new PeerSetObjects(NS, OTHER).write(kube, 1, List.of(PeerSetObjects.peer("tee-9", TEE9.publicKey().toBase64(), 9)), 1);
        server = NodeApiServer.start(kube, NodeApiServer.Settings.defaults(NS, 0)
                .withBind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .withPollTimeout(POLL).withRequestTimeout(Duration.ofSeconds(1)), SERVER, null);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!server.ready() && System.nanoTime() < deadline) {
            sleep(50);
        }
        assertThat(server.ready()).isTrue();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    static List<PeerSet.Peer> base() {
        return new ArrayList<>(List.of(PeerSetObjects.peer("tee-1", TEE1.publicKey().toBase64(), 1),
                PeerSetObjects.peer("tee-2", TEE2.publicKey().toBase64(), 2),
                PeerSetObjects.peer("tee-3", TEE3.publicKey().toBase64(), 3),
                PeerSetObjects.peer("kind-1", KIND1.publicKey().toBase64(), 10)));
    }

    static synchronized long publish(List<PeerSet.Peer> peers, int of) {
        generation++;
        mesh.write(kube, generation, peers, of);
        return generation;
    }

    static void vpnPeer(String network, String nodeId, WireGuardKey key, String nodeName) {
        VpnPeer p = new VpnPeer();
        p.setMetadata(new ObjectMetaBuilder().withName(network + "-" + nodeId).withNamespace(NS).build());
        VpnPeerSpec spec = new VpnPeerSpec();
        spec.network = network;
        spec.nodeId = nodeId;
        spec.publicKey = key.publicKey().toBase64();
        spec.transport = VpnPeerSpec.Transport.TCP;
        spec.nodeName = nodeName;
        p.setSpec(spec);
        kube.resource(p).serverSideApply();
    }

    static NodeApiClient client(String network, String nodeId, WireGuardKey key) {
        return new NodeApiClient(URI.create("http://127.0.0.1:" + server.port() + "/"), SERVER.publicKey(), NS, network, nodeId, key);
    }

    static String refusal(ThrowingCall call) {
        try {
            call.run();
            return "accepted";
        } catch (NodeApiRefused e) {
            return e.reason();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    interface ThrowingCall {
        void run() throws Exception;
    }

    // --- a member -------------------------------------------------------------------------------------------------

    @Test
    void aMemberReadsThePeerSetAndEachNewGenerationWakesItsPoll() throws Exception {
        List<PeerSet.Peer> peers = base();
        long g1 = publish(peers, 2);
        NodeApiClient tee1 = client(MESH, "tee-1", TEE1);
        PeerSetWatcher watcher = new PeerSetWatcher(MESH, Runnable::run, () -> {
        });
        PeerSetUpdate first = awaitGeneration(tee1, 0, g1);
        assertThat(names(first)).containsExactlyInAnyOrder("mesh-peerset", "mesh-peerset-0-of-2", "mesh-peerset-1-of-2");
        first.objects().forEach(watcher::received);
        assertThat(watcher.latest().whole().peers()).extracting(PeerSet.Peer::nodeId).containsExactly("kind-1", "tee-1", "tee-2", "tee-3");

        // A long-poll at the current generation waits; a new one wakes it with the index and the one changed shard.
        CompletableFuture<Optional<PeerSetUpdate>> poll = CompletableFuture.supplyAsync(() -> poll(tee1, g1));
        sleep(300);
        assertThat(poll).isNotDone();
        peers.add(PeerSetObjects.peer("tee-4", STRANGER.publicKey().toBase64(), 4));
        long g2 = publish(peers, 2);
        long published = System.nanoTime();
        PeerSetUpdate second = poll.get(5, TimeUnit.SECONDS).orElseThrow();
        long wokenMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - published);
        assertThat(second.generation()).isEqualTo(g2);
        assertThat(names(second)).containsExactlyInAnyOrder("mesh-peerset", PeerSetShards.shardName(MESH, PeerSetShards.shardOf("tee-4", 2), 2));
        assertThat(wokenMillis).as("woken by the new set, not by the poll timeout").isLessThan(POLL.toMillis() / 2);
        second.objects().forEach(watcher::received);
        assertThat(watcher.latest().index().generation()).isEqualTo(g2);
        assertThat(watcher.latest().whole().peers()).extracting(PeerSet.Peer::nodeId).contains("tee-4");

        // A reshard renames every shard: a node at the old generation gets all of the new layout's.
        long g3 = publish(peers, 4);
        PeerSetUpdate third = awaitGeneration(tee1, g2, g3);
        assertThat(names(third)).containsExactlyInAnyOrder("mesh-peerset", "mesh-peerset-0-of-4", "mesh-peerset-1-of-4", "mesh-peerset-2-of-4",
                "mesh-peerset-3-of-4");
        third.objects().forEach(watcher::received);
        assertThat(watcher.latest().complete()).isTrue();
        assertThat(watcher.latest().whole().peers()).extracting(PeerSet.Peer::nodeId).containsExactly("kind-1", "tee-1", "tee-2", "tee-3", "tee-4");

        // Nothing newer: the poll ends empty at its timeout (204).
        long before = System.nanoTime();
        assertThat(tee1.pollPeerSet(g3)).isEmpty();
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - before)).isGreaterThanOrEqualTo(POLL.toMillis() - 100);
        publish(base(), 2);
    }

    @Test
    void aMemberWritesItsOwnStatusAsTheAgentFieldManager() throws Exception {
        long g = publish(base(), 2);
        NodeApiClient tee1 = client(MESH, "tee-1", TEE1);
        awaitGeneration(tee1, 0, g);
        VpnPeerStatus status = status(g);
        status.phase = io.dstack.vpn.api.v1alpha1.VpnPeerPhase.Active; // not the node's: the client leaves it out
        tee1.putStatus(status);

        VpnPeer stored = kube.resources(VpnPeer.class).inNamespace(NS).withName("mesh-tee-1").get();
        assertThat(stored.getStatus().applied.generation).isEqualTo(g);
        assertThat(stored.getStatus().applied.peersConfigured).isEqualTo(3);
        assertThat(stored.getStatus().phase).isNull();
        assertThat(stored.getStatus().conditions).singleElement().satisfies(c -> {
            assertThat(c.getType()).isEqualTo(Conditions.APPLIED);
            assertThat(c.getStatus()).isEqualTo(Conditions.TRUE);
        });
        List<ManagedFieldsEntry> agent = stored.getMetadata().getManagedFields().stream()
                .filter(m -> VpnLabels.FIELD_MANAGER_AGENT.equals(m.getManager())).toList();
        assertThat(agent).singleElement().satisfies(m -> {
            assertThat(m.getSubresource()).isEqualTo("status");
            assertThat(m.getOperation()).isEqualTo("Apply");
        });

        // A generation the network has not reached is refused.
        assertThat(refusal(() -> tee1.putStatus(status(g + 5)))).isEqualTo(Refusal.BAD_STATUS);
    }

    // --- refused --------------------------------------------------------------------------------------------------

    @Test
    void aNodeNotInTheSetIsRefused() {
        assertThat(refusal(() -> client(MESH, "tee-5", STRANGER).pollPeerSet(0))).isEqualTo(Refusal.NOT_A_MEMBER);
        assertThat(refusal(() -> client(MESH, "tee-5", STRANGER).putStatus(status(1)))).isEqualTo(Refusal.NOT_A_MEMBER);
    }

    @Test
    void aWrongKeyForAListedNodeIsRefused() throws Exception {
        assertThat(refusal(() -> client(MESH, "tee-1", STRANGER).pollPeerSet(0))).isEqualTo(Refusal.KEY_MISMATCH);
        // Claiming tee-1's public key without its private key: the MAC cannot be made.
        Raw answer = raw(signed("GET", "/v1/namespaces/" + NS + "/networks/mesh/peerset", "generation=0", new byte[0], "tee-1", STRANGER,
                TEE1.publicKey(), freshNonce()));
        assertThat(answer.status()).isEqualTo(403);
        assertThat(answer.reason()).isEqualTo(Refusal.BAD_PROOF);
    }

    @Test
    void anotherNodesStatusIsRefused() throws Exception {
        long g = publish(base(), 2);
        awaitGeneration(client(MESH, "tee-1", TEE1), 0, g);
        byte[] body = NodeApiClient.statusBody(status(g));
        Raw answer = raw(signed("PUT", "/v1/namespaces/" + NS + "/networks/mesh/peers/tee-2/status", "", body, "tee-1", TEE1, TEE1.publicKey(),
                freshNonce()));
        assertThat(answer.status()).isEqualTo(403);
        assertThat(answer.reason()).isEqualTo(Refusal.NOT_YOUR_PEER);
        assertThat(kube.resources(VpnPeer.class).inNamespace(NS).withName("mesh-tee-2").get().getStatus()).isNull();
    }

    @Test
    void anInClusterPeerAndAPeerWithAnotherKeyAreRefused() {
        assertThat(refusal(() -> client(MESH, "kind-1", KIND1).putStatus(status(1)))).isEqualTo(Refusal.NOT_OUTSIDE_NODE);
        assertThat(kube.resources(VpnPeer.class).inNamespace(NS).withName("mesh-kind-1").get().getStatus()).isNull();
        assertThat(refusal(() -> client(MESH, "tee-3", TEE3).putStatus(status(1)))).isEqualTo(Refusal.KEY_MISMATCH);
        assertThat(kube.resources(VpnPeer.class).inNamespace(NS).withName("mesh-tee-3").get().getStatus()).isNull();
    }

    @Test
    void anotherNetworkOrNamespaceIsRefused() {
        assertThat(refusal(() -> client(OTHER, "tee-1", TEE1).pollPeerSet(0))).isEqualTo(Refusal.NOT_A_MEMBER);
        assertThat(refusal(() -> client(OTHER, "tee-1", TEE1).putStatus(status(1)))).isEqualTo(Refusal.NOT_A_MEMBER);
        assertThat(refusal(() -> client("nope", "tee-1", TEE1).pollPeerSet(0))).isEqualTo(Refusal.UNKNOWN_NETWORK);
        assertThat(refusal(() -> new NodeApiClient(URI.create("http://127.0.0.1:" + server.port()), SERVER.publicKey(), "elsewhere", MESH,
                "tee-1", TEE1).pollPeerSet(0))).isEqualTo(Refusal.UNKNOWN_NAMESPACE);
    }

    @Test
    void aReplayedRequestIsRefused() throws Exception {
        byte[] request = signed("GET", "/v1/namespaces/" + NS + "/networks/mesh/peerset", "generation=0", new byte[0], "tee-1", TEE1,
                TEE1.publicKey(), freshNonce());
        Raw first = raw(request);
        assertThat(first.status()).isEqualTo(200);
        assertThat(first.header("X-Dvpn-Response-Mac")).isNotNull();
        Raw replay = raw(request);
        assertThat(replay.status()).isEqualTo(403);
        assertThat(replay.reason()).isEqualTo(Refusal.STALE_NONCE);
        assertThat(replay.header("X-Dvpn-Response-Mac")).as("a replay earns no second MACed answer to one nonce").isNull();
    }

    @Test
    void aNodeRemovedFromTheSetWhilePollingIsToldAtOnce() throws Exception {
        long g = publish(base(), 2);
        NodeApiClient tee2 = client(MESH, "tee-2", TEE2);
        awaitGeneration(tee2, 0, g);
        CompletableFuture<Optional<PeerSetUpdate>> poll = CompletableFuture.supplyAsync(() -> poll(tee2, g));
        sleep(300);
        List<PeerSet.Peer> without = base();
        without.removeIf(p -> p.nodeId().equals("tee-2"));
        long revoked = System.nanoTime();
        publish(without, 2);
        assertThatThrownBy(() -> poll.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(NodeApiRefused.class).hasMessageContaining(Refusal.NOT_A_MEMBER);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - revoked);
        System.out.printf("node API: a polling node removed from the set was refused %d ms after the peer-set write began%n", millis);
        assertThat(millis).isLessThan(1000);
        assertThat(refusal(() -> tee2.pollPeerSet(0))).isEqualTo(Refusal.NOT_A_MEMBER);
        publish(base(), 2);
    }

    @Test
    void aNewerPollOfTheSameNodeReplacesTheOlder() throws Exception {
        long g = publish(base(), 2);
        NodeApiClient tee1 = client(MESH, "tee-1", TEE1);
        awaitGeneration(tee1, 0, g);
        CompletableFuture<Optional<PeerSetUpdate>> older = CompletableFuture.supplyAsync(() -> poll(tee1, g));
        sleep(300);
        CompletableFuture<Optional<PeerSetUpdate>> newer = CompletableFuture.supplyAsync(() -> poll(tee1, g));
        assertThatThrownBy(() -> older.get(POLL.toMillis() / 2, TimeUnit.MILLISECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(NodeApiRefused.class).hasMessageContaining(Refusal.REPLACED);
        long g2 = publish(base(), 4);
        assertThat(newer.get(5, TimeUnit.SECONDS)).get().extracting(PeerSetUpdate::generation).isEqualTo(g2);
        publish(base(), 2);
    }

    @Test
    void probesAndMetrics() throws Exception {
        NodeApiConfig config = new NodeApiConfig(NodeApiServer.Settings.defaults(NS, 0), SERVER, null, "127.0.0.1", 0);
        com.sun.net.httpserver.HttpServer health = NodeApiMain.health(config, server);
        try {
            int port = health.getAddress().getPort();
            assertThat(raw(port, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII)).status()).isEqualTo(200);
            assertThat(raw(port, "GET /readyz HTTP/1.1\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII)).status()).isEqualTo(200);
            refusal(() -> client(MESH, "tee-5", STRANGER).pollPeerSet(0));
            Raw metrics = raw(port, "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(metrics.body()).contains("dstack_vpn_node_api_refusals_total{reason=\"NotAMember\"}", "dstack_vpn_node_api_responses_total{code=\"403\"}",
                    "dstack_vpn_node_api_polls ", "dstack_vpn_node_api_connections ");
        } finally {
            health.stop(0);
        }
    }

    // --- hostile HTTP ---------------------------------------------------------------------------------------------

    @Test
    void anOversizedBodyIsRefusedUnread() throws IOException {
        Raw answer = raw(("PUT /v1/namespaces/" + NS + "/networks/mesh/peers/tee-1/status HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        assertThat(answer.status()).isEqualTo(413);
        assertThat(answer.reason()).isEqualTo("TooLarge");
    }

    @Test
    void garbageIsRefusedWithAReason() throws Exception {
        String peerset = "/v1/namespaces/" + NS + "/networks/mesh/peerset?generation=0";
        assertThat(raw("GET /v1/nonce HTTP/1.1\r\nX-Bad: a\u0001b\r\n\r\n").reason()).isEqualTo("BadRequest");
        assertThat(raw(new byte[] {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, (byte) 0xfc, 0x03, 0x03, '\r', '\n'}).reason())
                .as("a TLS ClientHello").isEqualTo("BadRequest");
        assertThat(raw("GET /v1/nonce HTTP/1.1\r\nX-Big: " + "a".repeat(20_000) + "\r\n\r\n").status()).isEqualTo(431);
        assertThat(raw("PUT /v1/nonce HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").reason()).isEqualTo("BadRequest");
        assertThat(raw("GET /v1/nonce HTTP/1.1\r\nX-A: b\r\n  folded\r\n\r\n").reason()).isEqualTo("BadRequest");
        assertThat(raw("GET " + peerset + " HTTP/1.1\r\nX-Dvpn-Node: tee-1\r\nX-Dvpn-Node: tee-2\r\n\r\n").reason()).isEqualTo("BadRequest");
        Raw badMac = raw("GET " + peerset + " HTTP/1.1\r\nX-Dvpn-Node: tee-1\r\nX-Dvpn-Key: " + TEE1.publicKey().toBase64()
                + "\r\nX-Dvpn-Nonce: " + freshNonce() + "\r\nX-Dvpn-Mac: %%%\r\n\r\n");
        assertThat(badMac.status()).isEqualTo(400);
        assertThat(badMac.body()).contains("X-Dvpn-Mac").doesNotContain("%%%");
        assertThat(raw("GET /../../etc/passwd HTTP/1.1\r\n\r\n").reason()).isEqualTo("NotFound");
        assertThat(raw("GET /v1/\u001b[2Jx\u0007 HTTP/1.1\r\n\r\n").reason()).as("no control characters towards a log line (readLine refuses them)").isEqualTo("BadRequest");
        assertThat(raw("GET " + peerset + "&x=1 HTTP/1.1\r\n\r\n").reason()).isEqualTo("BadRequest");
        assertThat(raw("DELETE " + peerset + " HTTP/1.1\r\n\r\n").status()).isEqualTo(405);
        // Still serving.
        assertThat(client(MESH, "tee-1", TEE1).pollPeerSet(0)).isPresent();
    }

    @Test
    void slowClientsAreCutOffAndDoNotHoldTheOthers() throws Exception {
        List<Socket> slow = new ArrayList<>();
        List<CompletableFuture<String>> answers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port());
            s.setSoTimeout(5000);
            slow.add(s);
            answers.add(CompletableFuture.supplyAsync(() -> trickle(s)));
        }
        // Meanwhile a member is served at once.
        long before = System.nanoTime();
        assertThat(client(MESH, "tee-1", TEE1).pollPeerSet(0)).isPresent();
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - before)).isLessThan(900);
        // Each trickling client is cut off at the request deadline (1 s) however steadily it sends.
        for (CompletableFuture<String> a : answers) {
            assertThat(a.get(5, TimeUnit.SECONDS)).startsWith("HTTP/1.1 408");
        }
        for (Socket s : slow) {
            s.close();
        }
    }

    @Test
    void theConnectionCapHoldsAndFreesItsSlots() throws Exception {
        try (NodeApiServer small = NodeApiServer.start(kube, NodeApiServer.Settings.defaults(NS, 0)
                .withBind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).withMaxConnections(3)
                .withRequestTimeout(Duration.ofSeconds(1)), SERVER, null)) {
            List<Socket> held = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                Socket s = new Socket(InetAddress.getLoopbackAddress(), small.port());
                s.getOutputStream().write("GET /v1/nonce HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII)); // and no more
                held.add(s);
            }
            sleep(200);
            Raw busy = raw(small.port(), "GET /v1/nonce HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(busy.status()).isEqualTo(503);
            assertThat(busy.reason()).isEqualTo("Busy");
            sleep(1500); // the request deadline frees the held slots
            assertThat(raw(small.port(), "GET /v1/nonce HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII)).status()).isEqualTo(204);
            for (Socket s : held) {
                s.close();
            }
        }
    }

    // --- helpers --------------------------------------------------------------------------------------------------

    static VpnPeerStatus status(long g) {
        VpnPeerStatus s = new VpnPeerStatus();
        s.applied = new VpnPeerStatus.AppliedState();
        s.applied.generation = g;
        s.applied.time = "2026-01-01T00:00:00Z";
        s.applied.peersConfigured = 3;
        s.applied.peersWithRecentHandshake = 2;
        s.applied.rxBytes = 1000L;
        s.applied.txBytes = 2000L;
        s.conditions = new ConditionSet(null, Clock.systemUTC()).set(Conditions.APPLIED, true, "Applied", "peer set generation " + g + " applied")
                .build();
        return s;
    }

    static Optional<PeerSetUpdate> poll(NodeApiClient c, long known) {
        try {
            return c.pollPeerSet(known);
        } catch (IOException | InterruptedException e) {
            throw new java.util.concurrent.CompletionException(e);
        }
    }

    /** Polls until the server has seen generation {@code g} (its informer delivers a moment after the write). */
    static PeerSetUpdate awaitGeneration(NodeApiClient c, long known, long g) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            Optional<PeerSetUpdate> u = c.pollPeerSet(known);
            if (u.isPresent() && u.get().generation() == g) {
                return u.get();
            }
        }
        throw new AssertionError("generation " + g + " never served");
    }

    static List<String> names(PeerSetUpdate u) {
        return u.objects().stream().map(cm -> cm.getMetadata().getName()).toList();
    }

    static String trickle(Socket s) {
        try {
            OutputStream out = s.getOutputStream();
            byte[] request = ("GET /v1/nonce HTTP/1.1\r\nX-Slow: " + "a".repeat(100)).getBytes(StandardCharsets.US_ASCII);
            for (byte b : request) {
                if (s.getInputStream().available() > 0) {
                    break; // answered: read it before a write to the closed connection resets it
                }
                out.write(b);
                out.flush();
                Thread.sleep(100);
            }
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        } catch (IOException | InterruptedException e) {
            try {
                return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            } catch (IOException gone) {
                return "reset: " + gone;
            }
        }
    }

    static String freshNonce() throws IOException {
        String nonce = raw("GET /v1/nonce HTTP/1.1\r\n\r\n").header("X-Dvpn-Next-Nonce");
        assertThat(nonce).isNotNull();
        return nonce;
    }

    /** A request signed as NodeApiClient signs it, by {@code signer}, claiming {@code claimed}; Connection: close. */
    static byte[] signed(String method, String path, String query, byte[] body, String nodeId, WireGuardKey signer, WireGuardKey claimed,
            String nonceBase64) {
        byte[] nonce = Base64.getDecoder().decode(nonceBase64);
        byte[] k = NodeAuth.deriveKey(signer, SERVER.publicKey(), NS, MESH, nodeId, claimed, SERVER.publicKey());
        byte[] mac = NodeAuth.requestMac(k, method, path, query, NodeAuth.sha256(body), nonce, NS, MESH, nodeId);
        String head = method + " " + path + (query.isEmpty() ? "" : "?" + query) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                + "X-Dvpn-Node: " + nodeId + "\r\nX-Dvpn-Key: " + claimed.toBase64() + "\r\nX-Dvpn-Nonce: " + nonceBase64
                + "\r\nX-Dvpn-Mac: " + Base64.getEncoder().encodeToString(mac) + "\r\nContent-Length: " + body.length + "\r\n\r\n";
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(head.getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(body);
        return out.toByteArray();
    }

    record Raw(int status, String head, String body) {
        String header(String name) {
            Matcher m = Pattern.compile("(?im)^" + name + ": ([^\r\n]*)").matcher(head);
            return m.find() ? m.group(1) : null;
        }

        String reason() {
            Matcher m = Pattern.compile("\"reason\":\"([A-Za-z]+)\"").matcher(body);
            return m.find() ? m.group(1) : null;
        }
    }

    static Raw raw(String request) throws IOException {
        return raw(request.getBytes(StandardCharsets.ISO_8859_1));
    }

    static Raw raw(byte[] request) throws IOException {
        return raw(server.port(), request);
    }

    /** Sends the bytes on a new connection and reads one answer (the server closes after errors and Connection: close). */
    static Raw raw(int port, byte[] request) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(5000);
            s.getOutputStream().write(request);
            s.getOutputStream().flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            byte[] chunk = new byte[8192];
            int n;
            while ((n = in.read(chunk)) > 0) {
                buf.write(chunk, 0, n);
                String text = buf.toString(StandardCharsets.ISO_8859_1);
                int end = text.indexOf("\r\n\r\n");
                if (end >= 0) {
                    Matcher length = Pattern.compile("(?im)^Content-Length: (\\d+)").matcher(text.substring(0, end));
                    int want = length.find() ? Integer.parseInt(length.group(1)) : 0;
                    if (text.length() - end - 4 >= want) {
                        break;
                    }
                }
            }
            String text = buf.toString(StandardCharsets.ISO_8859_1);
            int end = text.indexOf("\r\n\r\n");
            assertThat(end).as("an HTTP answer: " + text).isPositive();
            return new Raw(Integer.parseInt(text.substring(9, 12)), text.substring(0, end + 2), text.substring(end + 4));
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
