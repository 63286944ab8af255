package io.dstack.vpn.chain.rpc;

import java.time.Duration;

/**
 * What one endpoint's answer may cost us. The JDK HttpClient's request timeout covers only the response
 * headers, so {@code deadline} bounds the whole exchange (connect, headers and body); {@code maxBodyBytes}
 * bounds what is buffered and parsed.
 *
 * @param deadline      time from sending a request to having its whole body
 * @param maxBodyBytes  largest response body read; a longer one fails the call (retryable, and worded as a
 *                      limit so that the follower halves its log range)
 * @param destinations  where requests may go
 */
public record RpcLimits(Duration deadline, long maxBodyBytes, RpcDestinations destinations) {
    /** 16 MiB: a 5,000-block eth_getLogs of the access contract or a 250-call batch is far below it. */
    public static final long DEFAULT_MAX_BODY = 16L << 20;

    public static RpcLimits of(Duration deadline) {
        return new RpcLimits(deadline, DEFAULT_MAX_BODY, RpcDestinations.permitAll());
    }

    public RpcLimits withMaxBodyBytes(long bytes) {
        return new RpcLimits(deadline, bytes, destinations);
    }

    public RpcLimits withDestinations(RpcDestinations d) {
        return new RpcLimits(deadline, maxBodyBytes, d);
    }
}
