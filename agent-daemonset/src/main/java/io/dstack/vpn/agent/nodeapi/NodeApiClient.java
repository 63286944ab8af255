package io.dstack.vpn.agent.nodeapi;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.dstack.vpn.api.text.SafeText;
import io.dstack.vpn.api.v1alpha1.VpnPeerStatus;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConfigMap;

/**
 * An outside node's side of the node API (ADR 0015), for the standalone agent: long-polls the network's peer set
 * and writes the node's status, each request MACed with {@code K} (from the node's WireGuard key and the pinned
 * node-API key) and each answer checked against the response MAC before anything in it is used. Nonces are managed
 * here: every answer hands over the next one; a fresh one is fetched when none is at hand (or after
 * {@code StaleNonce}, once). Safe to use from several threads (a long-poll and a status write at the same time).
 */
public final class NodeApiClient {
    static final int MAX_PEER_SET_BYTES = 64 * 1024 * 1024;
    static final int MAX_OTHER_BYTES = 64 * 1024;
    /** A nonce older than this (by the node's own monotonic clock) is not worth trying: the server takes 30 s. */
    static final long NONCE_USE_NANOS = Duration.ofSeconds(20).toNanos();
    private static final int NONCE_POOL = 8;
    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
    private static final Pattern SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false)
            .setSerializationInclusion(JsonInclude.Include.NON_NULL);

    private record Nonce(byte[] value, long receivedNanos) {
    }

    /** One exchange: the answer and the nonce its request used (the response MAC covers it). */
    record Answer(int status, byte[] body, byte[] requestNonce, Optional<String> mac) {
    }

    private final URI base;
    private final String namespace;
    private final String network;
    private final String nodeId;
    private final WireGuardKey nodePublicKey;
    private final byte[] k;
    private final HttpClient http;
    private final Duration pollRequestTimeout;
    private final Duration requestTimeout;
    private final Deque<Nonce> nonces = new ArrayDeque<>();

    /**
     * @param baseUrl         the node API's URL (NODE_API_URL), e.g. {@code https://node-api.example.org}; a path prefix
     *                        is kept (a proxy may strip it: the MAC covers the path from {@code /v1})
     * @param serverPublicKey the node API's public key, pinned in the bundle (NODE_API_KEY)
     * @throws IllegalArgumentException on a malformed URL, name or node id, or a low-order server key
     */
    public NodeApiClient(URI baseUrl, WireGuardKey serverPublicKey, String namespace, String network, String nodeId,
            WireGuardKey nodePrivateKey) {
        this(baseUrl, serverPublicKey, namespace, network, nodeId, nodePrivateKey,
                HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10))
                        .followRedirects(HttpClient.Redirect.NEVER).build(),
                Duration.ofSeconds(60), Duration.ofSeconds(20));
    }

    NodeApiClient(URI baseUrl, WireGuardKey serverPublicKey, String namespace, String network, String nodeId, WireGuardKey nodePrivateKey,
            HttpClient http, Duration pollRequestTimeout, Duration requestTimeout) {
        String scheme = baseUrl.getScheme();
        if (!"http".equals(scheme) && !"https".equals(scheme) || baseUrl.getHost() == null || baseUrl.getRawQuery() != null
                || baseUrl.getRawFragment() != null) {
            throw new IllegalArgumentException("the node API URL must be http(s)://host[:port][/path] with no query");
        }
        if (!LABEL.matcher(namespace).matches()) {
            throw new IllegalArgumentException("namespace must be a DNS label");
        }
        if (network.length() > 253 || !SUBDOMAIN.matcher(network).matches()) {
            throw new IllegalArgumentException("network must be a VpnNetwork name");
        }
        if (!RequestAuthenticator.NODE_ID.matcher(nodeId).matches()) {
            throw new IllegalArgumentException("node id must be a DNS label of at most 63 characters");
        }
        String path = baseUrl.getRawPath() == null ? "" : baseUrl.getRawPath().replaceAll("/+$", "");
        this.base = URI.create(scheme + "://" + baseUrl.getRawAuthority() + path);
        this.namespace = namespace;
        this.network = network;
        this.nodeId = nodeId;
        this.nodePublicKey = nodePrivateKey.publicKey();
        this.k = NodeAuth.deriveKey(nodePrivateKey, serverPublicKey, namespace, network, nodeId, nodePublicKey, serverPublicKey);
        this.http = http;
        this.pollRequestTimeout = pollRequestTimeout;
        this.requestTimeout = requestTimeout;
    }

    /**
     * Long-polls for objects newer than knownGeneration; empty on timeout (204).
     *
     * @param knownGeneration the generation of the complete set the node holds; 0 for none
     * @throws NodeApiRefused (with reason()) on 403 and other refusals with a reason
     * @throws IOException    on transport errors and a bad or missing response MAC
     */
    public Optional<PeerSetUpdate> pollPeerSet(long knownGeneration) throws IOException, InterruptedException {
        if (knownGeneration < 0) {
            throw new IllegalArgumentException("knownGeneration must be 0 or more");
        }
        Answer a = exchange("GET", networkPath() + "/peerset", "generation=" + knownGeneration, new byte[0], pollRequestTimeout,
                MAX_PEER_SET_BYTES);
        if (a.status() == 204) {
            return Optional.empty();
        }
        return Optional.of(parsePeerSet(a.body()));
    }

    /** Writes the node's {@code applied} block and {@code Applied} condition (anything else in {@code status} is left out). */
    public void putStatus(VpnPeerStatus status) throws IOException, InterruptedException {
        if (status == null || status.applied == null) {
            throw new IllegalArgumentException("a status to write needs its applied block");
        }
        exchange("PUT", networkPath() + "/peers/" + nodeId + "/status", "", statusBody(status), requestTimeout, MAX_OTHER_BYTES);
    }

    /** This node's public key (the one the peer set must list). */
    public WireGuardKey nodePublicKey() {
        return nodePublicKey;
    }

    private String networkPath() {
        return "/v1/namespaces/" + namespace + "/networks/" + network;
    }

    /**
     * A MACed request; one retry with a fresh nonce after StaleNonce, and one after a transport error (a kept-alive
     * connection the server had closed; both requests are idempotent). Returns only 2xx answers whose MAC verifies.
     */
    private Answer exchange(String method, String apiPath, String query, byte[] body, Duration timeout, int maxBody)
            throws IOException, InterruptedException {
        boolean staleRetried = false;
        boolean transportRetried = false;
        while (true) {
            byte[] nonce = takeNonce();
            byte[] mac = NodeAuth.requestMac(k, method, apiPath, query, NodeAuth.sha256(body), nonce, namespace, network, nodeId);
            HttpRequest request = HttpRequest.newBuilder(URI.create(base + apiPath + (query.isEmpty() ? "" : "?" + query)))
                    .timeout(timeout)
                    .header(RequestAuthenticator.NODE_HEADER, nodeId)
                    .header(RequestAuthenticator.KEY_HEADER, nodePublicKey.toBase64())
                    .header(RequestAuthenticator.NONCE_HEADER, Base64.getEncoder().encodeToString(nonce))
                    .header(RequestAuthenticator.MAC_HEADER, Base64.getEncoder().encodeToString(mac))
                    .header("Content-Type", "application/json")
                    .method(method, body.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body))
                    .build();
            HttpResponse<InputStream> response;
            byte[] answer;
            try {
                response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
                offerNonce(response.headers().firstValue(NodeApiServer.NEXT_NONCE_HEADER));
                answer = readBounded(response.body(), maxBody);
            } catch (TooLarge | java.net.http.HttpTimeoutException e) {
                throw e; // not a dropped connection: retrying would only wait again
            } catch (IOException e) {
                if (transportRetried) {
                    throw e;
                }
                transportRetried = true;
                continue;
            }
            Answer a = new Answer(response.statusCode(), answer, nonce, response.headers().firstValue(NodeApiServer.RESPONSE_MAC_HEADER));
            if (a.status() / 100 == 2) {
                return verified(a, k);
            }
            NodeApiRefused refused = refusal(a);
            if (Refusal.STALE_NONCE.equals(refused.reason()) && !staleRetried) {
                staleRetried = true;
                continue;
            }
            throw refused;
        }
    }

    /** The answer, if its response MAC is HMAC(K, status, request nonce, SHA-256(body)); else an IOException. */
    static Answer verified(Answer a, byte[] k) throws IOException {
        byte[] mac = a.mac().map(m -> RequestAuthenticator.decode(m, NodeAuth.MAC_LENGTH)).orElse(null);
        if (!NodeAuth.macEquals(NodeAuth.responseMac(k, a.status(), a.requestNonce(), NodeAuth.sha256(a.body())), mac)) {
            throw new IOException("the node API's answer (HTTP " + a.status() + ") has " + (mac == null ? "no valid" : "a wrong")
                    + " response MAC: not from the node API this bundle pins, or altered on the way; ignored");
        }
        return a;
    }

    private static NodeApiRefused refusal(Answer a) throws IOException {
        JsonNode body;
        try {
            body = a.body().length == 0 ? null : JSON.readTree(a.body());
        } catch (IOException e) {
            body = null;
        }
        String reason = body == null ? null : body.path("reason").asText(null);
        if (reason == null || !reason.matches("[A-Za-z]{1,40}")) {
            throw new IOException("the node API answered HTTP " + a.status() + " without a reason");
        }
        return new NodeApiRefused(a.status(), reason, SafeText.bounded(body.path("message").asText(""), SafeText.MAX_MESSAGE));
    }

    private static PeerSetUpdate parsePeerSet(byte[] body) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (IOException e) {
            throw new IOException("the node API's peer-set answer is not valid JSON");
        }
        JsonNode generation = root == null ? null : root.get("generation");
        JsonNode objects = root == null ? null : root.get("objects");
        if (generation == null || !generation.isIntegralNumber() || generation.asLong() < 0 || objects == null || !objects.isArray()) {
            throw new IOException("the node API's peer-set answer lacks generation or objects");
        }
        List<ConfigMap> maps = new ArrayList<>();
        for (JsonNode o : objects) {
            ConfigMap cm;
            try {
                cm = JSON.treeToValue(o, ConfigMap.class);
            } catch (IOException e) {
                throw new IOException("the node API's peer-set answer holds an object that is not a ConfigMap");
            }
            if (cm.getMetadata() == null || cm.getMetadata().getName() == null) {
                throw new IOException("the node API's peer-set answer holds a ConfigMap without a name");
            }
            maps.add(cm);
        }
        return new PeerSetUpdate(generation.asLong(), maps);
    }

    /** Only what the node owns: applied, and the Applied condition's own fields. */
    static byte[] statusBody(VpnPeerStatus status) throws IOException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("applied", status.applied);
        if (status.conditions != null) {
            List<Map<String, Object>> conditions = new ArrayList<>();
            for (Condition c : status.conditions) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("type", c.getType());
                m.put("status", c.getStatus());
                m.put("reason", c.getReason());
                m.put("message", c.getMessage());
                m.put("lastTransitionTime", c.getLastTransitionTime());
                m.values().removeIf(java.util.Objects::isNull);
                conditions.add(m);
            }
            body.put("conditions", conditions);
        }
        return JSON.writeValueAsBytes(body);
    }

    private static byte[] readBounded(InputStream in, int max) throws IOException {
        try (in) {
            byte[] b = in.readNBytes(max + 1);
            if (b.length > max) {
                throw new TooLarge("the node API's answer is larger than " + max + " bytes");
            }
            return b;
        }
    }

    /** An answer over the size cap: not a transport error, so not retried. */
    private static final class TooLarge extends IOException {
        TooLarge(String message) {
            super(message);
        }
    }

    private byte[] takeNonce() throws IOException, InterruptedException {
        synchronized (nonces) {
            long now = System.nanoTime();
            while (!nonces.isEmpty()) {
                Nonce n = nonces.pollFirst();
                if (now - n.receivedNanos() < NONCE_USE_NANOS) {
                    return n.value();
                }
            }
        }
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + "/v1/nonce")).timeout(requestTimeout).GET().build();
        HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        byte[] body = readBounded(response.body(), MAX_OTHER_BYTES);
        byte[] nonce = response.headers().firstValue(NodeApiServer.NEXT_NONCE_HEADER)
                .map(v -> RequestAuthenticator.decode(v, NonceIssuer.LENGTH)).orElse(null);
        if (response.statusCode() / 100 != 2 || nonce == null) {
            NodeApiRefused refused = refusal(new Answer(response.statusCode(), body, null, Optional.empty()));
            throw refused;
        }
        return nonce;
    }

    private void offerNonce(Optional<String> header) {
        byte[] nonce = header.map(v -> RequestAuthenticator.decode(v, NonceIssuer.LENGTH)).orElse(null);
        if (nonce == null) {
            return;
        }
        synchronized (nonces) {
            if (nonces.size() >= NONCE_POOL) {
                nonces.pollFirst();
            }
            nonces.addLast(new Nonce(nonce, System.nanoTime()));
        }
    }
}
