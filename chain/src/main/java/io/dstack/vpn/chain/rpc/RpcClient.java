package io.dstack.vpn.chain.rpc;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * JSON-RPC over several endpoints: a failed retryable call moves to the next endpoint, with exponential
 * backoff and full jitter between rounds; the endpoint that answered last is tried first next time.
 * Non-retryable errors (reverts, bad params) are thrown at once.
 */
public final class RpcClient {
    private final List<RpcEndpoint> endpoints;
    private final int maxAttempts;
    private final Duration baseBackoff;
    private final Duration maxBackoff;
    private final RpcListener listener;
    private volatile int preferred;
    private volatile Long requiredChainId;

    /** @param timeout the deadline of one whole request (headers and body); no size or destination limit beyond the defaults */
    public RpcClient(List<String> urls, Duration timeout, int maxAttempts, Duration baseBackoff, Duration maxBackoff,
            RpcListener listener) {
        this(urls, RpcLimits.of(timeout), maxAttempts, baseBackoff, maxBackoff, listener);
    }

    public RpcClient(List<String> urls, RpcLimits limits, int maxAttempts, Duration baseBackoff, Duration maxBackoff,
            RpcListener listener) {
        if (urls.isEmpty()) {
            throw new IllegalArgumentException("at least one RPC URL is needed");
        }
        this.endpoints = urls.stream().map(u -> new RpcEndpoint(u, limits)).toList();
        this.maxAttempts = Math.max(1, maxAttempts);
        this.baseBackoff = baseBackoff;
        this.maxBackoff = maxBackoff;
        this.listener = listener;
    }

    /** Defaults for a follower: 5 s timeout, 6 attempts, 200 ms to 5 s backoff. */
    public static RpcClient of(List<String> urls, RpcListener listener) {
        return new RpcClient(urls, Duration.ofSeconds(5), 6, Duration.ofMillis(200), Duration.ofSeconds(5), listener);
    }

    public JsonNode call(String method, Object... params) {
        RpcCall call = RpcCall.of(method, params);
        return withFailover(method, 1, e -> e.call(call));
    }

    public List<JsonNode> batch(List<RpcCall> calls) {
        if (calls.isEmpty()) {
            return List.of();
        }
        return withFailover(calls.get(0).method() + (calls.size() > 1 ? "[batch]" : ""), calls.size(), e -> e.batch(calls));
    }

    /** Per-call outcomes; only transport-level failures fail over and retry. */
    public List<RpcResult> batchResults(List<RpcCall> calls) {
        if (calls.isEmpty()) {
            return List.of();
        }
        return withFailover(calls.get(0).method() + (calls.size() > 1 ? "[batch]" : ""), calls.size(), e -> e.batchResults(calls));
    }

    /**
     * From now on, every endpoint must answer {@code eth_chainId} with this id before its first use and again
     * after each of its failures: with several endpoints, a failover must never land on another chain.
     */
    public RpcClient requireChainId(long chainId) {
        this.requiredChainId = chainId;
        return this;
    }

    /** Endpoints by display name (no secrets), in configured order. */
    public List<String> endpointNames() {
        return endpoints.stream().map(RpcEndpoint::displayName).toList();
    }

    private <T> T withFailover(String method, int calls, Function<RpcEndpoint, T> action) {
        RpcException last = null;
        boolean allWrongChain = true;
        for (int attempt = 0; attempt < maxAttempts; attempt++) {
            int index = (preferred + attempt) % endpoints.size();
            RpcEndpoint endpoint = endpoints.get(index);
            long start = System.nanoTime();
            try {
                Long chainId = requiredChainId;
                if (chainId != null && endpoint.ensureChainId(chainId)) {
                    listener.completed(endpoint.displayName(), "eth_chainId", 1, System.nanoTime() - start);
                    start = System.nanoTime();
                }
                T result = action.apply(endpoint);
                listener.completed(endpoint.displayName(), method, calls, System.nanoTime() - start);
                preferred = index;
                return result;
            } catch (RpcException e) {
                listener.failed(endpoint.displayName(), method, calls, System.nanoTime() - start, e);
                endpoint.forgetChainId();
                if (!e.retryable()) {
                    throw e;
                }
                allWrongChain &= e instanceof WrongChainException;
                last = e;
                // Back off once every endpoint has been tried in this round.
                if ((attempt + 1) % endpoints.size() == 0 && attempt + 1 < maxAttempts) {
                    sleep(backoff((attempt + 1) / endpoints.size()));
                }
            }
        }
        if (allWrongChain) {
            throw (WrongChainException) last; // no endpoint serves the chain: for the follower, a fatal error
        }
        throw new RpcException("all RPC endpoints failed after " + maxAttempts + " attempts; last: " + last.getMessage(),
                true, last.code(), last);
    }

    Duration backoff(int round) {
        long cap = Math.min(maxBackoff.toMillis(), baseBackoff.toMillis() << Math.min(round, 20));
        return Duration.ofMillis(ThreadLocalRandom.current().nextLong(cap / 2, cap + 1));
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RpcException("interrupted while backing off", false, null, e);
        }
    }
}
