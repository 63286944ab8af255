package io.dstack.vpn.chain.follower;

import java.util.Locale;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.dstack.vpn.chain.rpc.RpcException;

/**
 * Blocks per {@code eth_getLogs} range while catching up. RPCs cap ranges (or result counts) differently and do not
 * say so up front: the range halves when a read fails that way and doubles again on success, between 1 and a maximum.
 */
final class AdaptiveLogRange {
    private static final Logger LOG = LoggerFactory.getLogger(AdaptiveLogRange.class);

    private final long max;
    private long size;

    AdaptiveLogRange(long initial, long max) {
        this.size = initial;
        this.max = max;
    }

    long size() {
        return size;
    }

    /** The last block of the range that starts at {@code from}, not past {@code head}. */
    long end(long from, long head) {
        return Math.min(head, from + size - 1);
    }

    void succeeded() {
        size = Math.min(max, size * 2);
    }

    /**
     * Halves the range after a range limit, or after a read too large to answer in time (a retryable failure).
     *
     * @return true when the RPC answered with a range limit: not an outage, the caller goes on with the smaller range
     */
    boolean narrowedAfter(RpcException e) {
        boolean rangeLimit = looksLikeRangeLimit(e);
        if (size <= 1 || !(e.retryable() || rangeLimit)) {
            return false;
        }
        size = Math.max(1, size / 2);
        LOG.info("eth_getLogs over {} blocks failed ({}); trying {} blocks", size * 2, e.getMessage(), size);
        return rangeLimit;
    }

    private static boolean looksLikeRangeLimit(RpcException e) {
        String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
        return m.contains("range") || m.contains("limit") || m.contains("too many") || m.contains("10000") || m.contains("exceed");
    }
}
