package io.dstack.vpn.chain.follower;

import java.time.Duration;

/**
 * The average time between blocks. Block timestamps are whole seconds and a fast chain makes several blocks a
 * second, so the estimate spans up to {@link #SPAN} blocks back from the head: one extra block read at the start
 * and at every resync.
 */
final class BlockTimeEstimate {
    static final long SPAN = 1000;

    private Duration value;
    private boolean due;

    /** The estimate, or null while unknown (no measurement yet, a chain of one block, equal or unknown timestamps). */
    Duration value() {
        return value;
    }

    /** Measure again at the next {@link #measureIfDue}. */
    void remeasure() {
        due = true;
    }

    /** A failed read leaves it due, for the next poll. */
    void measureIfDue(BlockRef head, ChainReads reads) {
        if (!due) {
            return;
        }
        long blocks = Math.min(head.number(), SPAN);
        value = blocks < 1 || head.timestamp() == BlockRef.UNKNOWN_TIME ? null : between(reads.block(head.number() - blocks), head);
        due = false;
    }

    static Duration between(BlockRef older, BlockRef newer) {
        long blocks = newer.number() - older.number();
        if (blocks < 1 || older.timestamp() == BlockRef.UNKNOWN_TIME || newer.timestamp() == BlockRef.UNKNOWN_TIME) {
            return null;
        }
        long seconds = newer.timestamp() - older.timestamp();
        return seconds <= 0 ? null : Duration.ofSeconds(seconds).dividedBy(blocks);
    }
}
