package io.dstack.vpn.agent.nodeapi;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.dstack.vpn.agent.nodeapi.BoundedHttpServer.Request;
import io.dstack.vpn.agent.nodeapi.BoundedHttpServer.Response;
import io.dstack.vpn.agent.nodeapi.RequestAuthenticator.Proven;
import io.dstack.vpn.api.v1alpha1.ApiPatterns;
import io.dstack.vpn.api.v1alpha1.VpnPeerStatus;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The node API (ADR 0015): serves outside nodes their network's peer set and takes their status, for exactly one
 * namespace and either a configured set of networks or every network whose peer set is in that namespace. Every
 * request but {@code GET /v1/nonce} proves the node's WireGuard key ({@link RequestAuthenticator}); authorisation is
 * one rule, membership: the node id and key are an entry of the network's newest complete peer set, checked on every
 * request and again whenever a new set arrives while a node long-polls. Plain HTTP: TLS, when wanted, ends at the
 * Service's load balancer or the Ingress; the proof and the response MAC do not rely on it.
 */
public final class NodeApiServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NodeApiServer.class);
    public static final String NEXT_NONCE_HEADER = "X-Dvpn-Next-Nonce";
    public static final String RESPONSE_MAC_HEADER = "X-Dvpn-Response-Mac";
    static final Duration MAX_POLL = Duration.ofSeconds(30);
    private static final int MAX_REMEMBERED_NONCES = 200_000;
    private static final int KEY_CACHE = 20_000;
    private static final String NAME = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?";
    private static final String SUBDOMAIN = NAME + "(\\." + NAME + ")*";
    private static final Pattern NETWORK_PATH = Pattern.compile("/v1/namespaces/(?<ns>" + NAME + ")/networks/(?<net>" + SUBDOMAIN
            + ")/(peerset|peers/(?<node>" + ApiPatterns.NODE_ID_REGEX.replace("^", "").replace("$", "") + ")/status)");
    private static final Pattern GENERATION_QUERY = Pattern.compile("generation=(0|[1-9][0-9]{0,17})");
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @param networks           the networks served; empty: every network of the namespace
     * @param pollTimeout        how long a long-poll waits for a newer set (at most 30 s)
     * @param requestTimeout     a request's headers and body must arrive within this, from its first byte
     * @param nonceRatePerSecond nonces handed to unauthenticated callers ({@code GET /v1/nonce}, refusals) a second,
     *                           up to {@code nonceBurst} at once; an authenticated answer always carries the next one
     */
    public record Settings(String namespace, Set<String> networks, InetSocketAddress bind, Duration pollTimeout, int maxConnections,
            Duration requestTimeout, Duration idleTimeout, Duration writeTimeout, double nonceRatePerSecond, int nonceBurst) {
        public Settings {
            networks = Set.copyOf(networks);
            if (pollTimeout.isNegative() || pollTimeout.compareTo(MAX_POLL) > 0) {
                throw new IllegalArgumentException("the long-poll timeout must be from 0 to 30 s");
            }
            if (maxConnections < 1) {
                throw new IllegalArgumentException("maxConnections must be at least 1");
            }
            if (!(nonceRatePerSecond > 0) || nonceBurst < 1) {
                throw new IllegalArgumentException("the nonce rate and burst must be positive");
            }
        }

        public static Settings defaults(String namespace, int port) {
            BoundedHttpServer.Limits d = BoundedHttpServer.Limits.DEFAULT;
            return new Settings(namespace, Set.of(), new InetSocketAddress(port), MAX_POLL, d.maxConnections(), d.requestTimeout(),
                    d.idleTimeout(), d.writeTimeout(), 200, 1000);
        }

        public Settings withNetworks(Set<String> n) {
            return new Settings(namespace, n, bind, pollTimeout, maxConnections, requestTimeout, idleTimeout, writeTimeout, nonceRatePerSecond, nonceBurst);
        }

        public Settings withBind(InetSocketAddress b) {
            return new Settings(namespace, networks, b, pollTimeout, maxConnections, requestTimeout, idleTimeout, writeTimeout, nonceRatePerSecond, nonceBurst);
        }

        public Settings withPollTimeout(Duration p) {
            return new Settings(namespace, networks, bind, p, maxConnections, requestTimeout, idleTimeout, writeTimeout, nonceRatePerSecond, nonceBurst);
        }

        public Settings withMaxConnections(int m) {
            return new Settings(namespace, networks, bind, pollTimeout, m, requestTimeout, idleTimeout, writeTimeout, nonceRatePerSecond, nonceBurst);
        }

        public Settings withNonceRate(double perSecond, int burst) {
            return new Settings(namespace, networks, bind, pollTimeout, maxConnections, requestTimeout, idleTimeout, writeTimeout, perSecond, burst);
        }

        public Settings withRequestTimeout(Duration r) {
            return new Settings(namespace, networks, bind, pollTimeout, maxConnections, r, idleTimeout, writeTimeout, nonceRatePerSecond, nonceBurst);
        }

        BoundedHttpServer.Limits limits() {
            return new BoundedHttpServer.Limits(maxConnections, requestTimeout, idleTimeout, writeTimeout,
                    BoundedHttpServer.Limits.DEFAULT.maxHeaderBytes(), BoundedHttpServer.Limits.DEFAULT.maxBodyBytes());
        }
    }

    /** One long-poll: woken by a new set, by a newer poll of the same node (which replaces it), or by shutdown. */
    private static final class PollTicket {
        private final Semaphore signal = new Semaphore(0);
        private volatile boolean replaced;

        void wake() {
            signal.release();
        }

        void replace() {
            replaced = true;
            wake();
        }

        void await(long nanos) throws InterruptedException {
            signal.tryAcquire(nanos, TimeUnit.NANOSECONDS);
            signal.drainPermits();
        }
    }

    private final Settings settings;
    private final ServedNetworks networks;
    private final DerivedKeys keys;
    private final RequestAuthenticator authenticator;
    private final NonceIssuer nonces;
    private final TokenBucket unauthenticatedNonces;
    private final PeerStatusWriter statusWriter;
    private final NodeApiMetrics metrics = new NodeApiMetrics();
    private final Map<String, PollTicket> polls = new ConcurrentHashMap<>();
    private BoundedHttpServer http;
    private volatile boolean closed;

    private NodeApiServer(KubernetesClient client, Settings settings, WireGuardKey current, WireGuardKey previous) {
        this.settings = settings;
        this.networks = new ServedNetworks(settings.namespace(), settings.networks());
        this.keys = new DerivedKeys(settings.namespace(), current, previous, KEY_CACHE);
        // Replicas share the key Secret, so they share this secret too and accept each other's nonces.
        byte[] nonceSecret = Hkdf.sha256(NodeAuth.SALT, current.toBytes(), NodeAuth.ascii("nonce secret"), 32);
        this.nonces = new NonceIssuer(nonceSecret, System::currentTimeMillis, MAX_REMEMBERED_NONCES);
        this.authenticator = new RequestAuthenticator(settings.namespace(), keys, nonces);
        this.unauthenticatedNonces = new TokenBucket(settings.nonceRatePerSecond(), settings.nonceBurst(), System::nanoTime);
        this.statusWriter = new PeerStatusWriter(client, settings.namespace());
    }

    /**
     * Starts watching the peer sets and listening.
     *
     * @param previous the key being rotated out (bundles pinning its public half still work); null when none
     */
    public static NodeApiServer start(KubernetesClient client, Settings settings, WireGuardKey current, WireGuardKey previous) throws IOException {
        NodeApiServer server = new NodeApiServer(client, settings, current, previous);
        server.networks.start(client);
        server.http = BoundedHttpServer.start(settings.bind(), settings.limits(), server.new Handler());
        server.metrics.connections(server.http::openConnections);
        LOG.info("node API for namespace {} ({}) listening on port {}; its public key is {}", settings.namespace(),
                settings.networks().isEmpty() ? "every network" : "networks " + String.join(",", settings.networks()), server.port(),
                server.publicKey().toBase64());
        return server;
    }

    public int port() {
        return http.port();
    }

    /** The public key outside nodes pin (NODE_API_KEY in the bundle). */
    public WireGuardKey publicKey() {
        return keys.currentPublic();
    }

    /** Listening, and the peer-set informer has listed once. */
    public boolean ready() {
        return http != null && networks.synced();
    }

    public NodeApiMetrics metrics() {
        return metrics;
    }

    @Override
    public void close() {
        closed = true;
        polls.values().forEach(PollTicket::wake);
        if (http != null) {
            http.close();
        }
        networks.close();
    }

    private final class Handler implements BoundedHttpServer.Handler {
        @Override
        public Response handle(Request request) throws InterruptedException {
            if (request.path().equals("/v1/nonce")) {
                return nonce(request);
            }
            Matcher m = NETWORK_PATH.matcher(request.path());
            if (!m.matches()) {
                return refuse(new Refusal(404, Refusal.NOT_FOUND, "no such endpoint: the node API serves /v1/nonce and /v1/namespaces/…"));
            }
            String namespace = m.group("ns");
            String network = m.group("net");
            String pathNodeId = m.group("node");
            boolean peerSet = pathNodeId == null;
            if (!namespace.equals(settings.namespace())) {
                return refuse(new Refusal(404, Refusal.UNKNOWN_NAMESPACE, "this node API serves namespace " + settings.namespace() + " only"));
            }
            if (!request.method().equals(peerSet ? "GET" : "PUT")) {
                return refuse(new Refusal(405, Refusal.METHOD_NOT_ALLOWED, (peerSet ? "GET" : "PUT") + " only"));
            }
            Matcher generation = GENERATION_QUERY.matcher(request.query());
            if (peerSet ? !generation.matches() || request.body().length > 0 : !request.query().isEmpty()) {
                return refuse(new Refusal(400, Refusal.BAD_REQUEST, peerSet
                        ? "GET …/peerset takes exactly ?generation=<the generation the node holds, 0 for none> and no body"
                        : "PUT …/status takes no query"));
            }
            PeerSetMirror mirror = networks.mirror(network);
            if (mirror == null) {
                return refuse(new Refusal(404, Refusal.UNKNOWN_NETWORK, "this node API serves no network " + network + " in namespace " + namespace));
            }
            PeerSetSnapshot snapshot = mirror.current();
            if (snapshot == null) {
                return refuse(new Refusal(503, Refusal.NO_PEER_SET, "network " + network + " has no complete peer set yet; try again"));
            }
            RequestAuthenticator.Outcome outcome = authenticator.authenticate(request, network, snapshot);
            if (outcome.refusal() != null) {
                return refuse(outcome.refusal());
            }
            Proven proven = outcome.proven();
            return peerSet ? poll(mirror, network, proven, Long.parseLong(generation.group(1)))
                    : putStatus(request, snapshot, network, pathNodeId, proven);
        }

        @Override
        public Response refuse(int status, String reason, String message) {
            return refuse(new Refusal(status, reason, message));
        }

        private Response nonce(Request request) {
            if (!request.method().equals("GET")) {
                return refuse(new Refusal(405, Refusal.METHOD_NOT_ALLOWED, "GET only"));
            }
            if (!request.query().isEmpty() || request.body().length > 0) {
                return refuse(new Refusal(400, Refusal.BAD_REQUEST, "GET /v1/nonce takes no query and no body"));
            }
            if (!unauthenticatedNonces.tryTake()) {
                metrics.refused(Refusal.RATE_LIMITED);
                return answer(429, refusalBody(new Refusal(429, Refusal.RATE_LIMITED, "too many nonce requests; try again in a second")),
                        null, false);
            }
            return answer(204, new byte[0], null, true);
        }

        private Response poll(PeerSetMirror mirror, String network, Proven proven, long known) throws InterruptedException {
            String key = network + "/" + proven.nodeId();
            PollTicket ticket = new PollTicket();
            PollTicket older = polls.put(key, ticket);
            if (older != null) {
                older.replace();
            }
            Runnable listener = ticket::wake;
            mirror.listen(listener);
            metrics.pollStarted();
            try {
                long deadline = System.nanoTime() + settings.pollTimeout().toNanos();
                while (true) {
                    if (closed) {
                        return authenticated(new Refusal(503, Refusal.UNAVAILABLE, "the node API is shutting down; try again"), proven);
                    }
                    PeerSetSnapshot snapshot = mirror.current();
                    Refusal gone = membership(snapshot, network, proven);
                    if (gone != null) {
                        return authenticated(gone, proven);
                    }
                    if (snapshot.generation() > known) {
                        return peerSetAnswer(snapshot, known, proven);
                    }
                    if (ticket.replaced) {
                        return authenticated(new Refusal(409, Refusal.REPLACED, "a newer long-poll of this node replaced this one"), proven);
                    }
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return answer(204, new byte[0], proven, true);
                    }
                    ticket.await(left);
                }
            } finally {
                metrics.pollEnded();
                mirror.unlisten(listener);
                polls.remove(key, ticket);
            }
        }

        /** Whether the node is still in the set with the key it proved: a revoked node is answered at once. */
        private Refusal membership(PeerSetSnapshot snapshot, String network, Proven proven) {
            Optional<String> listed = snapshot.publicKeyOf(proven.nodeId());
            if (listed.isEmpty()) {
                return Refusal.forbidden(Refusal.NOT_A_MEMBER, "node " + proven.nodeId() + " is no longer in the peer set of network " + network);
            }
            if (!WireGuardKey.isValid(listed.get()) || !WireGuardKey.parse(listed.get()).equals(proven.nodeKey())) {
                return Refusal.forbidden(Refusal.KEY_MISMATCH, "the peer set of network " + network + " now lists another key for node " + proven.nodeId());
            }
            return null;
        }

        private Response peerSetAnswer(PeerSetSnapshot snapshot, long known, Proven proven) {
            byte[] body = snapshot.answer(known, objects -> {
                Map<String, Object> answer = new LinkedHashMap<>();
                answer.put("generation", snapshot.generation());
                answer.put("objects", objects);
                return json(answer);
            });
            return answer(200, body, proven, true);
        }

        private Response putStatus(Request request, PeerSetSnapshot snapshot, String network, String pathNodeId, Proven proven) {
            if (!pathNodeId.equals(proven.nodeId())) {
                return authenticated(Refusal.forbidden(Refusal.NOT_YOUR_PEER, "node " + proven.nodeId() + " may write only its own status"), proven);
            }
            VpnPeerStatus status;
            try {
                status = StatusBody.parse(request.body(), snapshot.generation());
            } catch (StatusBody.Invalid e) {
                return authenticated(new Refusal(400, Refusal.BAD_STATUS, e.getMessage()), proven);
            }
            Refusal refused = statusWriter.write(network, proven.nodeId(), proven.nodeKey(), status);
            return refused == null ? answer(204, new byte[0], proven, true) : authenticated(refused, proven);
        }

        private Response refuse(Refusal r) {
            metrics.refused(r.reason());
            return answer(r.status(), refusalBody(r), null, unauthenticatedNonces.tryTake());
        }

        private Response authenticated(Refusal r, Proven proven) {
            metrics.refused(r.reason());
            return answer(r.status(), refusalBody(r), proven, true);
        }

        /**
         * Every authenticated answer carries the next nonce and the response MAC over the request's nonce and this
         * body; an unauthenticated one carries a nonce while the rate bound for those allows ({@code giveNonce}).
         */
        private Response answer(int status, byte[] body, Proven proven, boolean giveNonce) {
            Map<String, String> headers = new LinkedHashMap<>();
            headers.put("Cache-Control", "no-store");
            if (body.length > 0) {
                headers.put("Content-Type", "application/json");
            }
            if (giveNonce || proven != null) {
                headers.put(NEXT_NONCE_HEADER, Base64.getEncoder().encodeToString(nonces.issue()));
            }
            if (proven != null) {
                headers.put(RESPONSE_MAC_HEADER, Base64.getEncoder().encodeToString(
                        NodeAuth.responseMac(proven.k(), status, proven.nonce(), NodeAuth.sha256(body))));
            }
            metrics.responded(status);
            return new Response(status, headers, body);
        }
    }

    static byte[] refusalBody(Refusal r) {
        return json(Map.of("reason", r.reason(), "message", r.message()));
    }

    private static byte[] json(Object o) {
        try {
            return JSON.writeValueAsBytes(o);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
