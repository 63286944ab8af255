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
     * Halves the range that failed after a range limit, or after a read too large to answer in time (a retryable
     * failure). Half of what was tried, not of the nominal size: near the head a range is shorter than the size, and
     * halving a 5,000-block size while only 57 blocks exist took seven failed reads of 16 MiB each to get below them
     * (10,000 tokens with 63-character node ids, docs/benchmarks.md).
     *
     * @param from the first block of the range that failed
     * @param to   its last block
     * @return true when the RPC answered with a range limit: not an outage, the caller goes on with the smaller range
     */
    boolean narrowedAfter(RpcException e, long from, long to) {
        boolean rangeLimit = looksLikeRangeLimit(e);
        long tried = Math.min(size, to - from + 1);
        if (tried <= 1 || !(e.retryable() || rangeLimit)) {
            return false;
        }
        size = Math.max(1, tried / 2);
        LOG.info("eth_getLogs over {} blocks failed ({}); trying {} blocks", tried, e.getMessage(), size);
        return rangeLimit;
    }

    private static boolean looksLikeRangeLimit(RpcException e) {
        String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
        return m.contains("range") || m.contains("limit") || m.contains("too many") || m.contains("10000") || m.contains("exceed");
    }
}
