package io.dstack.vpn.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A JSON-RPC endpoint that behaves like a chain until told to attack whoever follows it: the RPC URL of a
 * VpnNetwork is chosen by whoever may create one, so the operator must survive an endpoint like this one.
 *
 * <p>Honestly it serves a tiny chain: blocks 0..head with made-up hashes, {@code eth_chainId}, {@code
 * eth_getBlockByNumber}, {@code eth_getLogs} with the logs added by {@link #addLog}, and a revert for every
 * {@code eth_call} (tokens read as absent). Each {@link Hostility} changes that, at any time.
 *
 * <p>Plain JDK (no web3j here): tests build log topics and data with the chain module's codec.
 */
public final class HostileRpcServer implements AutoCloseable {

    public enum Hostility {
        /** Answers honestly. */
        NONE,
        /** Sends headers at once, then one byte of the body every 200 ms, forever. */
        SLOW_BODY,
        /** Answers every request with a 100 MB body (streamed, not held in memory). */
        HUGE_BODY,
        /** eth_getLogs returns the logs as if another contract had emitted them. */
        FOREIGN_CONTRACT_LOGS,
        /** eth_getLogs returns the logs with block numbers 1000 past the requested range. */
        OUT_OF_RANGE_LOGS,
        /** eth_getLogs returns the logs with a blockNumber and logIndex that are not hex. */
        MALFORMED_HEX,
        /** eth_chainId answers another chain (the expected one plus one). */
        WRONG_CHAIN_ID,
        /** Every block lookup sees a new fork: hashes change on every call, so every poll finds a reorg. */
        REORG_STORM,
        /** Every request fails with a 1 MB JSON-RPC error message with control characters and a URL with credentials. */
        HUGE_ERROR
    }

    /** Size of the {@link Hostility#HUGE_BODY} reply. */
    public static final long HUGE_BODY_BYTES = 100L << 20;
    /** The secret inside the {@link Hostility#HUGE_ERROR} message's URL: it must never show up anywhere. */
    public static final String ERROR_SECRET = "LEAKED-API-KEY";
    public static final String FOREIGN_CONTRACT = "0x000000000000000000000000000000000000dead";

    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpServer server;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "hostile-rpc");
        t.setDaemon(true);
        return t;
    });
    private final long chainId;
    private final String contract;
    private final List<ObjectNode> logs = new CopyOnWriteArrayList<>();
    private final Map<String, AtomicLong> calls = new ConcurrentHashMap<>();
    private final AtomicLong fork = new AtomicLong();
    private volatile long head;
    private volatile Hostility hostility = Hostility.NONE;
    private volatile boolean closed;

    private HostileRpcServer(long chainId, String contract, long head) throws IOException {
        this.chainId = chainId;
        this.contract = contract.toLowerCase();
        this.head = head;
        this.server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        server.setExecutor(threads); // one thread per exchange: a trickling reply must not hold up the others
        server.createContext("/", this::handle);
        server.start();
    }

    /** An honest endpoint for {@code contract} on {@code chainId}, head at block {@code head}, on a free loopback port. */
    public static HostileRpcServer start(long chainId, String contract, long head) throws IOException {
        return new HostileRpcServer(chainId, contract, head);
    }

    /** The URL, with a path that stands for an API key (it must not show up in status or logs). */
    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v3/HOSTILE-SECRET-PATH";
    }

    public HostileRpcServer hostility(Hostility h) {
        this.hostility = h;
        return this;
    }

    public long head() {
        return head;
    }

    public void mine(int blocks) {
        head += blocks;
    }

    /** A log of the contract at {@code block} (index in the order added), served by eth_getLogs. */
    public void addLog(long block, List<String> topics, String data) {
        ObjectNode log = JSON.createObjectNode();
        log.put("address", contract);
        log.put("blockNumber", hex(block));
        log.put("blockHash", hash(block));
        log.put("logIndex", hex(logs.size()));
        log.put("transactionHash", "0x" + sha("tx-" + logs.size()));
        ArrayNode t = log.putArray("topics");
        topics.forEach(t::add);
        log.put("data", data);
        log.put("removed", false);
        logs.add(log);
    }

    /** Requests seen per JSON-RPC method (a batch counts each call). */
    public long calls(String method) {
        AtomicLong n = calls.get(method);
        return n == null ? 0 : n.get();
    }

    /** Hash of block {@code n} on the current fork. */
    public String hash(long n) {
        return n < 0 ? "0x" + "0".repeat(64) : "0x" + sha("block-" + fork.get() + "-" + n);
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            JsonNode request = JSON.readTree(exchange.getRequestBody().readAllBytes());
            Hostility h = hostility;
            if (h == Hostility.SLOW_BODY) {
                trickle(exchange);
                return;
            }
            if (h == Hostility.HUGE_BODY) {
                huge(exchange);
                return;
            }
            JsonNode reply;
            if (request.isArray()) {
                ArrayNode all = JSON.createArrayNode();
                request.forEach(r -> all.add(answer(r, h)));
                reply = all;
            } else {
                reply = answer(request, h);
            }
            byte[] bytes = JSON.writeValueAsBytes(reply);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, bytes.length);
            exchange.getResponseBody().write(bytes);
        } catch (IOException e) {
            // the client gave up (a deadline, a size cap): that is the point of most cases
        } catch (RuntimeException e) {
            System.err.println("HostileRpcServer: " + e); // a bug here, not an attack: make it visible
            throw e;
        }
    }

    private ObjectNode answer(JsonNode call, Hostility h) {
        String method = call.path("method").asText();
        calls.computeIfAbsent(method, m -> new AtomicLong()).incrementAndGet();
        ObjectNode reply = JSON.createObjectNode();
        reply.put("jsonrpc", "2.0");
        reply.set("id", call.path("id"));
        if (h == Hostility.HUGE_ERROR) {
            ObjectNode error = reply.putObject("error");
            error.put("code", -32000);
            error.put("message", "boom\n\u001b[31m see https://admin:" + ERROR_SECRET + "@rpc.example.com/v2/" + ERROR_SECRET
                    + " \u0000" + "x".repeat(1 << 20));
            return reply;
        }
        JsonNode params = call.path("params");
        switch (method) {
            case "eth_chainId" -> reply.put("result", hex(h == Hostility.WRONG_CHAIN_ID ? chainId + 1 : chainId));
            case "eth_blockNumber" -> reply.put("result", hex(head));
            case "eth_getBlockByNumber" -> {
                if (h == Hostility.REORG_STORM) {
                    fork.incrementAndGet();
                }
                String tag = params.path(0).asText("latest");
                long n = tag.startsWith("0x") ? Long.parseUnsignedLong(tag.substring(2), 16) : head;
                if (n > head || n < 0) {
                    reply.putNull("result");
                } else {
                    ObjectNode b = reply.putObject("result");
                    b.put("number", hex(n));
                    b.put("hash", hash(n));
                    b.put("parentHash", hash(n - 1));
                }
            }
            case "eth_getLogs" -> reply.set("result", logs(params.path(0), h));
            case "eth_call" -> {
                ObjectNode error = reply.putObject("error");
                error.put("code", 3);
                error.put("message", "execution reverted");
            }
            default -> {
                ObjectNode error = reply.putObject("error");
                error.put("code", -32601);
                error.put("message", "method not found");
            }
        }
        return reply;
    }

    private ArrayNode logs(JsonNode filter, Hostility h) {
        long from;
        long to;
        if (filter.has("blockHash")) {
            String wanted = filter.path("blockHash").asText();
            from = -1;
            for (long n = head; n >= 0 && n >= head - 300; n--) {
                if (hash(n).equalsIgnoreCase(wanted)) {
                    from = n;
                    break;
                }
            }
            to = from;
        } else {
            from = Long.parseLong(filter.path("fromBlock").asText("0x0").substring(2), 16);
            to = Long.parseLong(filter.path("toBlock").asText("0x0").substring(2), 16);
        }
        ArrayNode out = JSON.createArrayNode();
        for (ObjectNode log : logs) {
            long n = Long.parseLong(log.path("blockNumber").asText().substring(2), 16);
            if (n < from || n > to) {
                continue;
            }
            ObjectNode served = log.deepCopy();
            served.put("blockHash", hash(n));
            switch (h) {
                case FOREIGN_CONTRACT_LOGS -> served.put("address", FOREIGN_CONTRACT);
                case OUT_OF_RANGE_LOGS -> {
                    served.put("blockNumber", hex(to + 1000));
                    served.put("blockHash", hash(to + 1000));
                }
                case MALFORMED_HEX -> {
                    served.put("blockNumber", "0xZZ-not-hex");
                    served.put("logIndex", "-1");
                }
                default -> {
                }
            }
            out.add(served);
        }
        return out;
    }

    private void trickle(HttpExchange exchange) throws IOException {
        exchange.sendResponseHeaders(200, 0); // chunked: the headers are complete, the body never is
        OutputStream body = exchange.getResponseBody();
        body.write('{');
        body.flush();
        while (!closed) {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            body.write(' ');
            body.flush();
        }
    }

    private void huge(HttpExchange exchange) throws IOException {
        calls.computeIfAbsent("(huge body)", m -> new AtomicLong()).incrementAndGet();
        byte[] start = "{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":\"".getBytes(StandardCharsets.UTF_8);
        byte[] end = "\"}".getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(200, HUGE_BODY_BYTES);
        OutputStream body = exchange.getResponseBody();
        body.write(start);
        byte[] chunk = new byte[64 * 1024];
        java.util.Arrays.fill(chunk, (byte) 'a');
        long left = HUGE_BODY_BYTES - start.length - end.length;
        while (left > 0 && !closed) {
            int n = (int) Math.min(chunk.length, left);
            body.write(chunk, 0, n);
            left -= n;
        }
        body.write(end);
    }

    private static String hex(long n) {
        return "0x" + Long.toHexString(n);
    }

    private static String sha(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        closed = true;
        server.stop(0);
        threads.shutdownNow();
    }
}
