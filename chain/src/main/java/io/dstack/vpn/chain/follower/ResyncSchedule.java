package io.dstack.vpn.chain.follower;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * When every known token is read again, and at which block: every interval at the checkpoint, and at once after a
 * log that could not be used (it may have been a revocation: fail closed instead of trusting what we have).
 */
final class ResyncSchedule {
    private final Clock clock;
    private final Duration interval;
    private Instant last;
    /** The block a forced resync reads at (unusable logs were skipped up to it), or -1 for the checkpoint. */
    private long forcedAt = -1;

    ResyncSchedule(Clock clock, Duration interval) {
        this.clock = clock;
        this.interval = interval;
    }

    /** The interval counts from the follower's start (a checkpoint load reads every token already). */
    void start() {
        last = clock.instant();
    }

    /** Logs up to {@code block} were skipped as unusable: resync at that block in this poll. */
    void forceAt(long block) {
        last = Instant.EPOCH;
        forcedAt = block;
    }

    boolean due() {
        return last != null && !clock.instant().isBefore(last.plus(interval));
    }

    /** A resync starts now; the next one is due an interval later, even if this one fails. */
    void started() {
        last = clock.instant();
    }

    /** The block to read at, not past the checkpoint; a forced block is used once. */
    long blockToRead(long checkpoint) {
        long at = forcedAt >= 0 ? Math.min(forcedAt, checkpoint) : checkpoint;
        forcedAt = -1;
        return at;
    }
}
