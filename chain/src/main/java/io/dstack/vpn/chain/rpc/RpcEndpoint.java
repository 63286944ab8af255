package io.dstack.vpn.chain.rpc;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;

import io.dstack.vpn.api.text.SafeText;

/**
 * One JSON-RPC HTTP endpoint: single calls and batches, with error classification. The endpoint is untrusted:
 * each request is checked against the allowed destinations, bounded by a deadline over the whole exchange and
 * by a body size cap, and text from its answers is cut and cleaned before it reaches a message.
 */
public final class RpcEndpoint {
    /** Rate-limit and "try again" codes seen from public Base/Ethereum RPCs (not -32000/3: reverts use them). */
    static final Set<Integer> RETRYABLE_CODES = Set.of(-32005, -32016, -32603, 429);

    private static final ObjectMapper JSON = new ObjectMapper();
    private final URI uri;
    private final String displayName;
    /** Longest piece of an endpoint's own text (its error message) kept in an exception message. */
    static final int MAX_SERVER_TEXT = 200;

    private final HttpClient http;
    private final RpcLimits limits;
    /** The chain id this endpoint answered last time it was asked, until it fails (it may come back as another node). */
    private volatile Long verifiedChainId;

    public RpcEndpoint(String url, Duration timeout) {
        this(url, RpcLimits.of(timeout));
    }

    public RpcEndpoint(String url, RpcLimits limits) {
        this.uri = URI.create(url);
        this.displayName = displayName(uri);
        this.limits = limits;
        // No redirects (the default, said explicitly): a redirect would bypass the destination check.
        this.http = HttpClient.newBuilder().connectTimeout(limits.deadline()).followRedirects(HttpClient.Redirect.NEVER)
                .version(HttpClient.Version.HTTP_1_1).build();
    }

    /** Scheme, host and port of a URL: never its user info, path or query. */
    public static String displayName(URI uri) {
        return SafeText.bounded(uri.getScheme() + "://" + uri.getHost() + (uri.getPort() > 0 ? ":" + uri.getPort() : ""), 120);
    }

    /** Scheme, host and port only: the path and query of an RPC URL may carry an API key. */
    public String displayName() {
        return displayName;
    }

    /**
     * Asks for the chain id unless this endpoint already answered {@code expected} and has not failed since.
     *
     * @return whether it asked (for call counting)
     * @throws WrongChainException if it serves another chain
     */
    boolean ensureChainId(long expected) {
        if (verifiedChainId != null && verifiedChainId == expected) {
            return false;
        }
        String answer = call(RpcCall.of("eth_chainId")).asText();
        long served;
        try {
            served = io.dstack.vpn.chain.contract.Hex.quantity(answer);
        } catch (IllegalArgumentException e) {
            throw new RpcException(displayName + ": eth_chainId answered " + e.getMessage(), true, null, null);
        }
        if (served != expected) {
            throw new WrongChainException(displayName + " serves chain id " + served + ", but the network expects " + expected
                    + ": refusing to read another chain");
        }
        verifiedChainId = served;
        return true;
    }

    /** After a failure: check the chain id again before the next use. */
    void forgetChainId() {
        verifiedChainId = null;
    }

    public JsonNode call(RpcCall call) {
        JsonNode response = post(JSON.valueToTree(envelope(call, 1)));
        return result(response, call.method());
    }

    /** Results in call order. One HTTP request; any failed element fails the batch (the caller retries). */
    public List<JsonNode> batch(List<RpcCall> calls) {
        List<RpcResult> results = batchResults(calls);
        List<JsonNode> values = new ArrayList<>(results.size());
        for (RpcResult r : results) {
            if (r.error() != null) {
                throw r.error();
            }
            values.add(r.value());
        }
        return values;
    }

    /**
     * Results in call order, each either a value or the error of that call (a revert of one eth_call does not
     * fail the others). Transport failures still throw.
     */
    public List<RpcResult> batchResults(List<RpcCall> calls) {
        if (calls.isEmpty()) {
            return List.of();
        }
        ArrayNode body = JSON.createArrayNode();
        for (int i = 0; i < calls.size(); i++) {
            body.add(JSON.valueToTree(envelope(calls.get(i), i)));
        }
        JsonNode response = post(body);
        if (!response.isArray()) {
            // Some servers answer a whole batch with one error object.
            result(response, "batch");
            throw new RpcException(displayName + ": batch answered with a non-array", false, null, null);
        }
        JsonNode[] byId = new JsonNode[calls.size()];
        for (JsonNode item : response) {
            int id = item.path("id").asInt(-1);
            if (id < 0 || id >= byId.length) {
                throw new RpcException(displayName + ": batch reply with unknown id " + SafeText.bounded(item.path("id").toString(), 40),
                        true, null, null);
            }
            byId[id] = item;
        }
        List<RpcResult> results = new ArrayList<>(calls.size());
        for (int i = 0; i < byId.length; i++) {
            if (byId[i] == null) {
                throw new RpcException(displayName + ": batch reply misses call " + i, true, null, null);
            }
            try {
                results.add(new RpcResult(result(byId[i], calls.get(i).method()), null));
            } catch (RpcException e) {
                if (e.retryable()) {
                    throw e; // rate limited inside a batch: retry the whole batch
                }
                results.add(new RpcResult(null, e));
            }
        }
        return results;
    }

    private static Map<String, Object> envelope(RpcCall call, int id) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("jsonrpc", "2.0");
        m.put("id", id);
        m.put("method", call.method());
        m.put("params", call.params());
        return m;
    }

    private JsonNode post(JsonNode body) {
        String denied = limits.destinations().problem(uri);
        if (denied != null) {
            // Retryable: with several endpoints, the others may be fine.
            throw new RpcException(displayName + ": destination not allowed: " + denied
                    + " (the operator's RPC allow list, docs/adr/0010-rpc-destinations.md)", true, null, null);
        }
        HttpRequest request = HttpRequest.newBuilder(uri)
                .timeout(limits.deadline())
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                .build();
        HttpResponse<byte[]> response = exchange(request);
        int status = response.statusCode();
        if (status == 429 || status >= 500) {
            throw new RpcException(displayName + ": HTTP " + status, true, status, null);
        }
        if (status != 200) {
            throw new RpcException(displayName + ": HTTP " + status, false, status, null);
        }
        try {
            return JSON.readTree(response.body());
        } catch (IOException e) {
            throw new RpcException(displayName + ": reply is not JSON", true, null, null);
        }
    }

    /** Sends and waits for the whole body, at most until the deadline; a late or oversized body is abandoned. */
    private HttpResponse<byte[]> exchange(HttpRequest request) {
        CompletableFuture<HttpResponse<byte[]>> pending = http.sendAsync(request, CappedBody.handler(limits.maxBodyBytes()));
        try {
            return pending.get(limits.deadline().toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            pending.cancel(true); // closes the connection: a trickled body stops costing us anything
            throw new RpcException(displayName + ": no complete reply within " + limits.deadline().toMillis() + " ms", true, null, null);
        } catch (InterruptedException e) {
            pending.cancel(true);
            Thread.currentThread().interrupt();
            throw new RpcException(displayName + ": interrupted", false, null, e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            while (cause != null && !(cause instanceof CappedBody.TooLarge) && cause.getCause() != null) {
                cause = cause.getCause();
            }
            if (cause instanceof CappedBody.TooLarge) {
                // Worded as a limit: the follower then halves its eth_getLogs range.
                throw new RpcException(displayName + ": " + cause.getMessage(), true, null, null);
            }
            Throwable first = e.getCause() == null ? e : e.getCause();
            throw new RpcException(displayName + ": " + first.getClass().getSimpleName()
                    + (first.getMessage() == null ? "" : " " + SafeText.bounded(first.getMessage(), MAX_SERVER_TEXT)), true, null, null);
        }
    }

    private JsonNode result(JsonNode response, String method) {
        JsonNode error = response.get("error");
        if (error != null && !error.isNull()) {
            int code = error.path("code").asInt();
            String message = SafeText.bounded(error.path("message").asText(""), MAX_SERVER_TEXT);
            String lower = message.toLowerCase();
            boolean retryable = RETRYABLE_CODES.contains(code) || lower.contains("rate limit") || lower.contains("too many requests")
                    || lower.contains("timeout") || lower.contains("header not found");
            throw new RpcException(displayName + ": " + method + " failed: " + message + " (" + code + ")", retryable, code, null);
        }
        if (!response.has("result")) {
            throw new RpcException(displayName + ": " + method + " reply has no result", true, null, null);
        }
        return response.get("result");
    }
}
