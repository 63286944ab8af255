package io.dstack.vpn.operator.chain;

import java.time.Duration;

import io.dstack.vpn.api.v1alpha1.ChainAccess;

/**
 * How deep a grant must be buried before its node is admitted, in blocks, from the spec's two ways of saying it
 * (docs/adr/0013-confirmations-as-time.md): {@code grantConfirmations} (blocks) and {@code grantConfirmationTime}
 * (a duration, turned into blocks with the chain's observed block time). Both given: both must hold. Neither:
 * {@link #DEFAULT_TIME}, which means 2 blocks on a 2 s chain and 20 on a 200 ms chain, the same wall time.
 *
 * <p>Pure: the block time comes from the follower's estimate, passed in on every question.
 */
public record GrantConfirmations(Integer blocks, Duration time) {
    /** What a reorg-safe grant waits when the spec says nothing: 2 blocks on Base (2 s blocks), as before. */
    public static final Duration DEFAULT_TIME = Duration.ofSeconds(4);
    /**
     * The block time assumed while the chain's is unknown (a chain younger than two blocks, or all of them in one
     * second): the shortest plausible one, so that an unknown block time makes grants wait longer, never shorter.
     */
    public static final Duration UNKNOWN_BLOCK_TIME = Duration.ofMillis(100);

    public static GrantConfirmations of(ChainAccess chain) {
        Duration time = chain.grantConfirmationTime == null ? null : Durations.parse(chain.grantConfirmationTime, DEFAULT_TIME);
        if (chain.grantConfirmations == null && time == null) {
            time = DEFAULT_TIME;
        }
        return new GrantConfirmations(chain.grantConfirmations, time);
    }

    /** Blocks a grant needs (1 = admitted in the block that carries it; 0 = at first sight too). */
    public long blocksNeeded(Duration observedBlockTime) {
        long byBlocks = blocks == null ? 0 : blocks;
        if (time == null || time.isZero()) {
            return byBlocks;
        }
        long byTime = ceilDiv(time.toNanos(), (known(observedBlockTime) ? observedBlockTime : UNKNOWN_BLOCK_TIME).toNanos());
        return Math.max(byBlocks, byTime);
    }

    /** Says how the figure was reached, for a peer waiting on it. */
    public String explain(Duration observedBlockTime) {
        if (time == null || time.isZero()) {
            return "grantConfirmations " + blocks;
        }
        String bt = known(observedBlockTime) ? "the observed block time of " + observedBlockTime.toMillis() + " ms"
                : "an unknown block time (assumed " + UNKNOWN_BLOCK_TIME.toMillis() + " ms)";
        return "grantConfirmationTime " + time.toMillis() + " ms at " + bt + (blocks == null ? "" : ", at least grantConfirmations " + blocks);
    }

    private static boolean known(Duration blockTime) {
        return blockTime != null && !blockTime.isZero() && !blockTime.isNegative();
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
