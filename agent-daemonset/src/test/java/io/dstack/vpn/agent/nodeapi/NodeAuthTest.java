package io.dstack.vpn.agent.nodeapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.fabric8.kubernetes.api.model.ConfigMap;

/**
 * The node API's proof (ADR 0015): X25519 against RFC 7748, HKDF against RFC 5869, the MAC encodings against fixed
 * vectors and against the ADR's byte layout written out here independently, and every refusal of the request check
 * (wrong key, wrong node id, reused or expired nonce, tampered request) and of the client's response check.
 */
class NodeAuthTest {
    static final HexFormat HEX = HexFormat.of();
    static final String NS = "vpn";
    static final String NET = "mesh";

    // RFC 7748 section 6.1
    static final WireGuardKey ALICE = key("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    static final WireGuardKey ALICE_PUB = key("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    static final WireGuardKey BOB = key("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    static final WireGuardKey BOB_PUB = key("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");

    static WireGuardKey key(String hex) {
        return WireGuardKey.fromBytes(HEX.parseHex(hex));
    }

    @Test
    void x25519MatchesRfc7748Section52() {
        assertThat(HEX.formatHex(NodeAuth.x25519(key("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                key("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"))))
                .isEqualTo("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
        // The u-coordinate's top bit is set: it must be masked, as RFC 7748 requires.
        assertThat(HEX.formatHex(NodeAuth.x25519(key("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"),
                key("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"))))
                .isEqualTo("95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
    }

    @Test
    void x25519MatchesRfc7748IteratedVector() {
        byte[] k = new byte[32];
        k[0] = 9;
        byte[] u = k.clone();
        for (int i = 1; i <= 1000; i++) {
            byte[] next = NodeAuth.x25519(WireGuardKey.fromBytes(k), WireGuardKey.fromBytes(u));
            u = k;
            k = next;
            if (i == 1) {
                assertThat(HEX.formatHex(k)).isEqualTo("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
            }
        }
        assertThat(HEX.formatHex(k)).isEqualTo("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
    }

    @Test
    void x25519MatchesRfc7748DiffieHellman() {
        assertThat(ALICE.publicKey()).isEqualTo(ALICE_PUB);
        assertThat(BOB.publicKey()).isEqualTo(BOB_PUB);
        String shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
        assertThat(HEX.formatHex(NodeAuth.x25519(ALICE, BOB_PUB))).isEqualTo(shared);
        assertThat(HEX.formatHex(NodeAuth.x25519(BOB, ALICE_PUB))).isEqualTo(shared);
    }

    @Test
    void lowOrderPublicKeysAreRefused() {
        for (String lowOrder : List.of(
                "0000000000000000000000000000000000000000000000000000000000000000", // 0
                "0100000000000000000000000000000000000000000000000000000000000000", // 1
                "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
                "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")) { // p - 1
            assertThatThrownBy(() -> NodeAuth.x25519(ALICE, key(lowOrder))).as(lowOrder)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("low order");
            assertThatThrownBy(() -> NodeAuth.deriveKey(ALICE, key(lowOrder), NS, NET, "tee-1", ALICE_PUB, key(lowOrder)))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void hkdfMatchesRfc5869TestCase1() {
        byte[] ikm = HEX.parseHex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
        byte[] salt = HEX.parseHex("000102030405060708090a0b0c");
        byte[] info = HEX.parseHex("f0f1f2f3f4f5f6f7f8f9");
        assertThat(HEX.formatHex(Hkdf.extract(salt, ikm))).isEqualTo("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
        assertThat(HEX.formatHex(Hkdf.sha256(salt, ikm, info, 42)))
                .isEqualTo("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    }

    // Fixed vectors: node = Alice, node API = Bob, namespace vpn, network mesh, node id tee-1.
    static final String K_HEX = "b57b12b32cd4919f4a3e104222ca34f3007f13017f41d0e09166d3642bc64fcf";
    static final byte[] NONCE = HEX.parseHex("00000190000000000102030405060708090a0b0c0d0e0f10" + "1112131415161718191a1b1c1d1e1f20");
    static final byte[] BODY = "{\"applied\":{\"generation\":7}}".getBytes(StandardCharsets.UTF_8);
    static final String REQUEST_MAC_HEX = "0d675544013a29c4b579d2be6f353c66da5fb1f64ccdf46829e63be8c84f5089";
    static final String RESPONSE_MAC_HEX = "ec30d158ac9a3dd90ea7cd27c5b1c96e06f70b37e8df514c2ad958f21ae44c45";

    @Test
    void bothSidesDeriveTheSameKeyAndItMatchesTheFixedVector() {
        byte[] node = NodeAuth.deriveKey(ALICE, BOB_PUB, NS, NET, "tee-1", ALICE_PUB, BOB_PUB);
        byte[] server = NodeAuth.deriveKey(BOB, ALICE_PUB, NS, NET, "tee-1", ALICE_PUB, BOB_PUB);
        assertThat(node).isEqualTo(server);
        assertThat(HEX.formatHex(node)).isEqualTo(K_HEX);
        // Every input of info changes K.
        assertThat(NodeAuth.deriveKey(ALICE, BOB_PUB, "vpn2", NET, "tee-1", ALICE_PUB, BOB_PUB)).isNotEqualTo(node);
        assertThat(NodeAuth.deriveKey(ALICE, BOB_PUB, NS, "mesh2", "tee-1", ALICE_PUB, BOB_PUB)).isNotEqualTo(node);
        assertThat(NodeAuth.deriveKey(ALICE, BOB_PUB, NS, NET, "tee-2", ALICE_PUB, BOB_PUB)).isNotEqualTo(node);
    }

    @Test
    void theMacsMatchTheFixedVectors() {
        byte[] k = HEX.parseHex(K_HEX);
        assertThat(HEX.formatHex(NodeAuth.requestMac(k, "PUT", "/v1/namespaces/vpn/networks/mesh/peers/tee-1/status", "",
                NodeAuth.sha256(BODY), NONCE, NS, NET, "tee-1"))).isEqualTo(REQUEST_MAC_HEX);
        assertThat(HEX.formatHex(NodeAuth.responseMac(k, 204, NONCE, NodeAuth.sha256(BODY)))).isEqualTo(RESPONSE_MAC_HEX);
    }

    /** The ADR's byte layout, written out here without NodeAuth's helpers: K, then both MACs. */
    @Test
    void theEncodingIsTheOneTheAdrDocuments() throws Exception {
        byte[] shared = HEX.parseHex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        byte[] info = lengthPrefixed(utf8(NS), utf8(NET), utf8("tee-1"), ALICE_PUB.toBytes(), BOB_PUB.toBytes());
        byte[] prk = hmac(utf8("dstack-vpn node-api v1"), shared);
        byte[] okm = hmac(prk, ByteBuffer.allocate(info.length + 1).put(info).put((byte) 1).array()); // one block: 32 bytes
        assertThat(HEX.formatHex(okm)).isEqualTo(K_HEX);
        byte[] request = lengthPrefixed(utf8("dstack-vpn node-api v1 request"), utf8("PUT"),
                utf8("/v1/namespaces/vpn/networks/mesh/peers/tee-1/status"), utf8(""), sha256(BODY), NONCE, utf8(NS), utf8(NET), utf8("tee-1"));
        assertThat(HEX.formatHex(hmac(okm, request))).isEqualTo(REQUEST_MAC_HEX);
        byte[] response = lengthPrefixed(utf8("dstack-vpn node-api v1 response"), utf8("204"), NONCE, sha256(BODY));
        assertThat(HEX.formatHex(hmac(okm, response))).isEqualTo(RESPONSE_MAC_HEX);
    }

    @Test
    void fieldBoundariesCannotBeShifted() {
        byte[] k = HEX.parseHex(K_HEX);
        byte[] h = NodeAuth.sha256(new byte[0]);
        assertThat(NodeAuth.requestMac(k, "GET", "/a", "b=1", h, NONCE, NS, NET, "tee-1"))
                .isNotEqualTo(NodeAuth.requestMac(k, "GET", "/a?b=1", "", h, NONCE, NS, NET, "tee-1"));
        assertThat(NodeAuth.requestMac(k, "GET", "/a", "", h, NONCE, "ab", "c", "tee-1"))
                .isNotEqualTo(NodeAuth.requestMac(k, "GET", "/a", "", h, NONCE, "a", "bc", "tee-1"));
    }

    // --- the server's request check -------------------------------------------------------------------------

    static final WireGuardKey SERVER = WireGuardKey.generatePrivate();
    static final WireGuardKey OLD_SERVER = WireGuardKey.generatePrivate();
    static final WireGuardKey TEE1 = WireGuardKey.generatePrivate();
    static final WireGuardKey TEE2 = WireGuardKey.generatePrivate();
    static final WireGuardKey STRANGER = WireGuardKey.generatePrivate();
    static final String PEERSET_PATH = "/v1/namespaces/vpn/networks/mesh/peerset";
    static final String STATUS_PATH = "/v1/namespaces/vpn/networks/mesh/peers/tee-1/status";

    final AtomicLong clock = new AtomicLong(1_750_000_000_000L);
    NonceIssuer nonces;
    RequestAuthenticator auth;
    PeerSetSnapshot snapshot;

    @BeforeEach
    void setUp() {
        nonces = new NonceIssuer(new byte[32], clock::get, 1000);
        auth = new RequestAuthenticator(NS, new DerivedKeys(NS, SERVER, OLD_SERVER, 100), nonces);
        snapshot = snapshot(List.of(PeerSetObjects.peer("tee-1", TEE1.publicKey().toBase64(), 1),
                PeerSetObjects.peer("tee-2", TEE2.publicKey().toBase64(), 2)));
    }

    static PeerSetSnapshot snapshot(List<PeerSet.Peer> peers) {
        PeerSetMirror mirror = new PeerSetMirror(NET);
        for (ConfigMap cm : new PeerSetObjects(NS, NET).render(3, peers, 2)) {
            mirror.received(cm);
        }
        return mirror.current();
    }

    /** A request as NodeApiClient signs it. */
    static BoundedHttpServer.Request signed(WireGuardKey signer, WireGuardKey claimed, String nodeId, WireGuardKey serverPub, String method,
            String path, String query, byte[] body, byte[] nonce) {
        byte[] k = NodeAuth.deriveKey(signer, serverPub, NS, NET, nodeId, claimed, serverPub);
        byte[] mac = NodeAuth.requestMac(k, method, path, query, NodeAuth.sha256(body), nonce, NS, NET, nodeId);
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("x-dvpn-node", nodeId);
        headers.put("x-dvpn-key", claimed.toBase64());
        headers.put("x-dvpn-nonce", Base64.getEncoder().encodeToString(nonce));
        headers.put("x-dvpn-mac", Base64.getEncoder().encodeToString(mac));
        return new BoundedHttpServer.Request(method, path, query, headers, body);
    }

    BoundedHttpServer.Request genuine(byte[] nonce) {
        return signed(TEE1, TEE1.publicKey(), "tee-1", SERVER.publicKey(), "GET", PEERSET_PATH, "generation=0", new byte[0], nonce);
    }

    String refusal(BoundedHttpServer.Request request) {
        RequestAuthenticator.Outcome o = auth.authenticate(request, NET, snapshot);
        return o.refusal() == null ? "accepted" : o.refusal().reason();
    }

    @Test
    void aGenuineRequestIsAccepted() {
        RequestAuthenticator.Outcome o = auth.authenticate(genuine(nonces.issue()), NET, snapshot);
        assertThat(o.refusal()).isNull();
        assertThat(o.proven().nodeId()).isEqualTo("tee-1");
        assertThat(o.proven().nodeKey()).isEqualTo(TEE1.publicKey());
        assertThat(o.proven().k()).isEqualTo(NodeAuth.deriveKey(TEE1, SERVER.publicKey(), NS, NET, "tee-1", TEE1.publicKey(), SERVER.publicKey()));
    }

    @Test
    void aWrongKeyIsRefused() {
        // Someone else's key, claiming the listed one: the MAC cannot match.
        assertThat(refusal(signed(STRANGER, TEE1.publicKey(), "tee-1", SERVER.publicKey(), "GET", PEERSET_PATH, "generation=0", new byte[0],
                nonces.issue()))).isEqualTo(Refusal.BAD_PROOF);
        // Claiming its own key, which the set does not list for tee-1: refused before any Diffie-Hellman.
        assertThat(refusal(signed(STRANGER, STRANGER.publicKey(), "tee-1", SERVER.publicKey(), "GET", PEERSET_PATH, "generation=0",
                new byte[0], nonces.issue()))).isEqualTo(Refusal.KEY_MISMATCH);
        // The right node key against another node API key (a bundle pinning the wrong S).
        assertThat(refusal(signed(TEE1, TEE1.publicKey(), "tee-1", STRANGER.publicKey(), "GET", PEERSET_PATH, "generation=0", new byte[0],
                nonces.issue()))).isEqualTo(Refusal.BAD_PROOF);
    }

    @Test
    void aWrongNodeIdIsRefused() {
        assertThat(refusal(signed(TEE1, TEE1.publicKey(), "tee-3", SERVER.publicKey(), "GET", PEERSET_PATH, "generation=0", new byte[0],
                nonces.issue()))).isEqualTo(Refusal.NOT_A_MEMBER);
        assertThat(refusal(signed(TEE1, TEE1.publicKey(), "tee-2", SERVER.publicKey(), "GET", PEERSET_PATH, "generation=0", new byte[0],
                nonces.issue()))).isEqualTo(Refusal.KEY_MISMATCH);
        // The MAC made for tee-1, the header changed to tee-2 with tee-2's key.
        BoundedHttpServer.Request r = genuine(nonces.issue());
        r.headers().put("x-dvpn-node", "tee-2");
        r.headers().put("x-dvpn-key", TEE2.publicKey().toBase64());
        assertThat(refusal(r)).isEqualTo(Refusal.BAD_PROOF);
    }

    @Test
    void aReusedNonceIsRefused() {
        byte[] nonce = nonces.issue();
        assertThat(refusal(genuine(nonce))).isEqualTo("accepted");
        assertThat(refusal(genuine(nonce))).isEqualTo(Refusal.STALE_NONCE);
    }

    @Test
    void anExpiredNonceIsRefused() {
        byte[] nonce = nonces.issue();
        clock.addAndGet(NonceIssuer.VALIDITY_MILLIS + 1);
        assertThat(refusal(genuine(nonce))).isEqualTo(Refusal.STALE_NONCE);
        byte[] fresh = nonces.issue();
        clock.addAndGet(NonceIssuer.VALIDITY_MILLIS);
        assertThat(refusal(genuine(fresh))).isEqualTo("accepted");
    }

    @Test
    void aForgedNonceIsRefused() {
        byte[] nonce = nonces.issue();
        nonce[3] ^= 1; // the timestamp, say to make an old nonce young again
        assertThat(refusal(genuine(nonce))).isEqualTo(Refusal.STALE_NONCE);
        assertThat(refusal(genuine(new NonceIssuer(new byte[] {1}, clock::get, 10).issue()))).as("another secret's nonce")
                .isEqualTo(Refusal.STALE_NONCE);
    }

    @Test
    void aTamperedRequestIsRefused() {
        byte[] body = "{\"applied\":{\"generation\":3}}".getBytes(StandardCharsets.UTF_8);
        BoundedHttpServer.Request put = signed(TEE1, TEE1.publicKey(), "tee-1", SERVER.publicKey(), "PUT", STATUS_PATH, "", body, nonces.issue());
        byte[] tampered = body.clone();
        tampered[tampered.length - 3] = '2';
        assertThat(refusal(new BoundedHttpServer.Request("PUT", STATUS_PATH, "", put.headers(), tampered))).isEqualTo(Refusal.BAD_PROOF);
        BoundedHttpServer.Request get = genuine(nonces.issue());
        assertThat(refusal(new BoundedHttpServer.Request("GET", PEERSET_PATH, "generation=9", get.headers(), new byte[0])))
                .as("query").isEqualTo(Refusal.BAD_PROOF);
        assertThat(refusal(new BoundedHttpServer.Request("GET", "/v1/namespaces/vpn/networks/mesh2/peerset", "generation=0", get.headers(),
                new byte[0]))).as("path").isEqualTo(Refusal.BAD_PROOF);
        assertThat(refusal(new BoundedHttpServer.Request("PUT", PEERSET_PATH, "generation=0", get.headers(), new byte[0])))
                .as("method").isEqualTo(Refusal.BAD_PROOF);
        // The genuine ones still pass: only the alteration was refused (and it used no nonce up).
        assertThat(refusal(put)).isEqualTo("accepted");
        assertThat(refusal(get)).isEqualTo("accepted");
    }

    @Test
    void thePreviousServerKeyIsAcceptedDuringARotationOnly() {
        BoundedHttpServer.Request old = signed(TEE1, TEE1.publicKey(), "tee-1", OLD_SERVER.publicKey(), "GET", PEERSET_PATH, "generation=0",
                new byte[0], nonces.issue());
        assertThat(refusal(old)).isEqualTo("accepted");
        auth = new RequestAuthenticator(NS, new DerivedKeys(NS, SERVER, null, 100), nonces);
        assertThat(refusal(signed(TEE1, TEE1.publicKey(), "tee-1", OLD_SERVER.publicKey(), "GET", PEERSET_PATH, "generation=0", new byte[0],
                nonces.issue()))).isEqualTo(Refusal.BAD_PROOF);
    }

    @Test
    void malformedHeadersAreRefusedWithoutEchoingThem() {
        BoundedHttpServer.Request r = genuine(nonces.issue());
        for (String header : List.of("x-dvpn-node", "x-dvpn-key", "x-dvpn-nonce", "x-dvpn-mac")) {
            Map<String, String> headers = new LinkedHashMap<>(r.headers());
            headers.put(header, "<script>" + "A".repeat(100));
            RequestAuthenticator.Outcome o = auth.authenticate(new BoundedHttpServer.Request("GET", PEERSET_PATH, "generation=0", headers,
                    new byte[0]), NET, snapshot);
            assertThat(o.refusal().status()).as(header).isEqualTo(400);
            assertThat(o.refusal().message()).doesNotContain("<script>");
            headers.remove(header);
            assertThat(auth.authenticate(new BoundedHttpServer.Request("GET", PEERSET_PATH, "generation=0", headers, new byte[0]), NET, snapshot)
                    .refusal().status()).as(header + " missing").isEqualTo(400);
        }
    }

    @Test
    void theKeyIsDerivedOncePerNodeAndKey() {
        DerivedKeys keys = new DerivedKeys(NS, SERVER, null, 2);
        auth = new RequestAuthenticator(NS, keys, nonces);
        refusal(genuine(nonces.issue()));
        refusal(genuine(nonces.issue()));
        assertThat(keys.cached()).isEqualTo(1);
        refusal(signed(TEE1, TEE1.publicKey(), "tee-3", SERVER.publicKey(), "GET", PEERSET_PATH, "generation=0", new byte[0], nonces.issue()));
        assertThat(keys.cached()).as("an unknown node id costs no Diffie-Hellman").isEqualTo(1);
    }

    // --- nonces -------------------------------------------------------------------------------------------------

    @Test
    void usedNoncesAreRememberedInABoundedMapUntilTheyExpire() {
        NonceIssuer small = new NonceIssuer(new byte[32], clock::get, 2);
        byte[] a = small.issue();
        byte[] b = small.issue();
        byte[] c = small.issue();
        assertThat(small.consume(a)).isEqualTo(NonceIssuer.Verdict.ACCEPTED);
        assertThat(small.consume(b)).isEqualTo(NonceIssuer.Verdict.ACCEPTED);
        assertThat(small.consume(c)).as("full of unexpired nonces: refuse rather than forget one").isEqualTo(NonceIssuer.Verdict.BUSY);
        assertThat(small.consume(a)).isEqualTo(NonceIssuer.Verdict.STALE);
        clock.addAndGet(NonceIssuer.VALIDITY_MILLIS + 1);
        byte[] d = small.issue();
        assertThat(small.consume(d)).isEqualTo(NonceIssuer.Verdict.ACCEPTED);
        assertThat(small.remembered()).isEqualTo(1);
    }

    @Test
    void aNonceFromTheFutureIsTakenOnlyWithinTheReplicaSkew() {
        NonceIssuer ahead = new NonceIssuer(new byte[32], () -> clock.get() + NonceIssuer.FUTURE_SKEW_MILLIS, 10);
        NonceIssuer farAhead = new NonceIssuer(new byte[32], () -> clock.get() + NonceIssuer.FUTURE_SKEW_MILLIS + 1, 10);
        assertThat(nonces.fresh(ahead.issue())).isTrue();
        assertThat(nonces.fresh(farAhead.issue())).isFalse();
    }

    // --- the client's response check -------------------------------------------------------------------------

    @Test
    void aForgedResponseMacIsRefused() throws IOException {
        byte[] k = HEX.parseHex(K_HEX);
        byte[] body = "{\"generation\":4,\"objects\":[]}".getBytes(StandardCharsets.UTF_8);
        String mac = Base64.getEncoder().encodeToString(NodeAuth.responseMac(k, 200, NONCE, NodeAuth.sha256(body)));
        assertThat(NodeApiClient.verified(new NodeApiClient.Answer(200, body, NONCE, Optional.of(mac)), k).body()).isEqualTo(body);

        byte[] other = "{\"generation\":9,\"objects\":[]}".getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> NodeApiClient.verified(new NodeApiClient.Answer(200, other, NONCE, Optional.of(mac)), k))
                .as("another body").isInstanceOf(IOException.class).hasMessageContaining("response MAC");
        byte[] otherNonce = NONCE.clone();
        otherNonce[10] ^= 1;
        assertThatThrownBy(() -> NodeApiClient.verified(new NodeApiClient.Answer(200, body, otherNonce, Optional.of(mac)), k))
                .as("an old answer replayed to a new request").isInstanceOf(IOException.class);
        assertThatThrownBy(() -> NodeApiClient.verified(new NodeApiClient.Answer(200, body, NONCE, Optional.empty()), k))
                .as("no MAC").isInstanceOf(IOException.class);
        byte[] wrongK = k.clone();
        wrongK[0] ^= 1;
        String forged = Base64.getEncoder().encodeToString(NodeAuth.responseMac(wrongK, 200, NONCE, NodeAuth.sha256(other)));
        assertThatThrownBy(() -> NodeApiClient.verified(new NodeApiClient.Answer(200, other, NONCE, Optional.of(forged)), k))
                .as("a MAC under another key").isInstanceOf(IOException.class);
        assertThatThrownBy(() -> NodeApiClient.verified(new NodeApiClient.Answer(204, body, NONCE, Optional.of(mac)), k))
                .as("another status").isInstanceOf(IOException.class);
    }

    // --- helpers ---------------------------------------------------------------------------------------------

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] lengthPrefixed(byte[]... fields) {
        int n = 0;
        for (byte[] f : fields) {
            n += 4 + f.length;
        }
        ByteBuffer b = ByteBuffer.allocate(n);
        for (byte[] f : fields) {
            b.putInt(f.length).put(f);
        }
        return b.array();
    }

    static byte[] hmac(byte[] key, byte[] data) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(data);
    }

    static byte[] sha256(byte[] data) throws Exception {
        return java.security.MessageDigest.getInstance("SHA-256").digest(data);
    }
}
