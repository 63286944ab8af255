package io.dstack.vpn.agent.nodeapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.dstack.vpn.api.wireguard.WireGuardKey;

/**
 * NodeApiClient against a scripted loopback server (not the node API: one that misbehaves on purpose): the client signs
 * what the ADR says, uses an answer only when its response MAC verifies, and retries a stale nonce once.
 */
class NodeApiClientTest {
    static final WireGuardKey SERVER = WireGuardKey.generatePrivate();
    static final WireGuardKey NODE = WireGuardKey.generatePrivate();
    static final String PATH = "/prefix/v1/namespaces/vpn/networks/mesh/peerset";
    static final byte[] BODY = "{\"generation\":5,\"objects\":[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"mesh-peerset\"},\"data\":{}}]}"
            .getBytes(StandardCharsets.UTF_8);
    static final byte[] K = NodeAuth.deriveKey(SERVER, NODE.publicKey(), "vpn", "mesh", "tee-1", NODE.publicKey(), SERVER.publicKey());

    HttpServer http;
    NodeApiClient client;
    /** What the peer-set endpoint answers, given the request's nonce; null = the client's request MAC was wrong. */
    Function<byte[], Reply> script;
    final List<String> seen = new ArrayList<>();
    final AtomicInteger nonceFetches = new AtomicInteger();

    record Reply(int status, byte[] body, String mac) {
    }

    @BeforeEach
    void start() throws IOException {
        http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        http.createContext("/prefix/v1/nonce", ex -> {
            nonceFetches.incrementAndGet();
            ex.getResponseHeaders().add("X-Dvpn-Next-Nonce", nonce());
            ex.sendResponseHeaders(204, -1);
            ex.close();
        });
        http.createContext(PATH, this::peerSet);
        http.start();
        client = new NodeApiClient(URI.create("http://127.0.0.1:" + http.getAddress().getPort() + "/prefix/"), SERVER.publicKey(), "vpn", "mesh",
                "tee-1", NODE);
    }

    @AfterEach
    void stop() {
        http.stop(0);
    }

    static String nonce() {
        byte[] n = new byte[NonceIssuer.LENGTH];
        new SecureRandom().nextBytes(n);
        return Base64.getEncoder().encodeToString(n);
    }

    void peerSet(HttpExchange ex) throws IOException {
        byte[] nonce = Base64.getDecoder().decode(ex.getRequestHeaders().getFirst("X-Dvpn-Nonce"));
        byte[] mac = Base64.getDecoder().decode(ex.getRequestHeaders().getFirst("X-Dvpn-Mac"));
        // The MAC covers the path from /v1: a proxy may strip the prefix.
        String apiPath = ex.getRequestURI().getRawPath().substring("/prefix".length());
        byte[] expected = NodeAuth.requestMac(K, "GET", apiPath, ex.getRequestURI().getRawQuery(), NodeAuth.sha256(new byte[0]), nonce, "vpn",
                "mesh", "tee-1");
        seen.add(ex.getRequestHeaders().getFirst("X-Dvpn-Node") + " " + ex.getRequestHeaders().getFirst("X-Dvpn-Key") + " "
                + NodeAuth.macEquals(expected, mac));
        Reply r = script.apply(nonce);
        ex.getResponseHeaders().add("X-Dvpn-Next-Nonce", nonce());
        if (r.mac() != null) {
            ex.getResponseHeaders().add("X-Dvpn-Response-Mac", r.mac());
        }
        ex.sendResponseHeaders(r.status(), r.status() == 204 ? -1 : r.body().length);
        if (r.status() != 204) {
            ex.getResponseBody().write(r.body());
        }
        ex.close();
    }

    static String mac(int status, byte[] nonce, byte[] body) {
        return Base64.getEncoder().encodeToString(NodeAuth.responseMac(K, status, nonce, NodeAuth.sha256(body)));
    }

    @Test
    void aGenuineAnswerIsUsedAndTheRequestIsSignedAsTheAdrSays() throws Exception {
        script = nonce -> new Reply(200, BODY, mac(200, nonce, BODY));
        PeerSetUpdate u = client.pollPeerSet(4).orElseThrow();
        assertThat(u.generation()).isEqualTo(5);
        assertThat(u.objects()).singleElement().satisfies(cm -> assertThat(cm.getMetadata().getName()).isEqualTo("mesh-peerset"));
        assertThat(seen).containsExactly("tee-1 " + NODE.publicKey().toBase64() + " true");
        // The next request uses the nonce the answer carried: no second fetch.
        client.pollPeerSet(5);
        assertThat(nonceFetches).hasValue(1);
    }

    @Test
    void aForgedOrReplayedAnswerIsRefused() throws Exception {
        script = nonce -> new Reply(200, BODY, Base64.getEncoder().encodeToString(new byte[32]));
        assertThatThrownBy(() -> client.pollPeerSet(0)).isInstanceOf(IOException.class).isNotInstanceOf(NodeApiRefused.class)
                .hasMessageContaining("response MAC");
        script = nonce -> new Reply(200, BODY, null);
        assertThatThrownBy(() -> client.pollPeerSet(0)).hasMessageContaining("response MAC");
        byte[] oldNonce = Base64.getDecoder().decode(nonce());
        script = nonce -> new Reply(200, BODY, mac(200, oldNonce, BODY)); // a genuine answer to an earlier request
        assertThatThrownBy(() -> client.pollPeerSet(0)).hasMessageContaining("response MAC");
        script = nonce -> new Reply(204, new byte[0], mac(204, oldNonce, new byte[0])); // "nothing new", replayed
        assertThatThrownBy(() -> client.pollPeerSet(0)).hasMessageContaining("response MAC");
        // An authenticated refusal passed off as a success: same body, same MAC, another status.
        byte[] refusal = "{\"reason\":\"NotOutsideNode\",\"message\":\"no\"}".getBytes(StandardCharsets.UTF_8);
        script = nonce -> new Reply(200, refusal, mac(403, nonce, refusal));
        assertThatThrownBy(() -> client.pollPeerSet(0)).hasMessageContaining("response MAC");
    }

    @Test
    void aStaleNonceIsRetriedOnceWithAFreshOne() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        byte[] stale = "{\"reason\":\"StaleNonce\",\"message\":\"fetch a new one\"}".getBytes(StandardCharsets.UTF_8);
        script = nonce -> calls.incrementAndGet() == 1 ? new Reply(403, stale, null) : new Reply(204, new byte[0], mac(204, nonce, new byte[0]));
        assertThat(client.pollPeerSet(5)).isEmpty();
        assertThat(calls).hasValue(2);
        script = nonce -> new Reply(403, stale, null);
        assertThatThrownBy(() -> client.pollPeerSet(5)).isInstanceOf(NodeApiRefused.class)
                .satisfies(e -> assertThat(((NodeApiRefused) e).reason()).isEqualTo("StaleNonce"));
    }

    @Test
    void refusalsCarryTheirReasonAndACleanedMessage() {
        byte[] body = "{\"reason\":\"NotAMember\",\"message\":\"node tee-1 \\u001b[31m is not in the set\"}".getBytes(StandardCharsets.UTF_8);
        script = nonce -> new Reply(403, body, null);
        assertThatThrownBy(() -> client.pollPeerSet(0)).isInstanceOf(NodeApiRefused.class)
                .satisfies(e -> {
                    assertThat(((NodeApiRefused) e).reason()).isEqualTo("NotAMember");
                    assertThat(((NodeApiRefused) e).status()).isEqualTo(403);
                    assertThat(e.getMessage()).doesNotContain("\u001b");
                });
        script = nonce -> new Reply(502, "<html>bad gateway</html>".getBytes(StandardCharsets.UTF_8), null);
        assertThatThrownBy(() -> client.pollPeerSet(0)).isInstanceOf(IOException.class).isNotInstanceOf(NodeApiRefused.class)
                .hasMessageContaining("HTTP 502");
    }

    @Test
    void badSettingsAreRefusedAtConstruction() {
        assertThatThrownBy(() -> new NodeApiClient(URI.create("ftp://x"), SERVER.publicKey(), "vpn", "mesh", "tee-1", NODE))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new NodeApiClient(URI.create("http://x"), SERVER.publicKey(), "vpn", "mesh", "Tee_1", NODE))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new NodeApiClient(URI.create("http://x"), WireGuardKey.fromBytes(new byte[32]), "vpn", "mesh", "tee-1", NODE))
                .as("a low-order node-API key").isInstanceOf(IllegalArgumentException.class);
    }
}
