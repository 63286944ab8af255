package io.dstack.vpn.chain.follower;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * How long one poll keeps stepping while behind the head: catching up (first sync, after an outage) reads range
 * after range within one poll, so a long history is not paced by the poll interval. Bounded by time on the
 * follower's clock, and by setbacks (rewinds, ranges read again), so that an endpoint that keeps reorging gets
 * little work per poll whatever the clock does.
 */
final class CatchUpBudget {
    /** What a step did. */
    enum Step {
        /** Moved the checkpoint forward, or found nothing new. */
        ADVANCED,
        /** The RPC refused the range: try a smaller one. */
        NARROWED,
        /** Rewound after a reorg, or found the range end changed while reading it. */
        SETBACK
    }

    private static final int MAX_SETBACKS = 2;

    private final Clock clock;
    private final Instant deadline;
    private int setbacks;

    CatchUpBudget(Clock clock, Duration budget) {
        this.clock = clock;
        this.deadline = clock.instant().plus(budget);
    }

    boolean allowsAnotherAfter(Step last) {
        if (last == Step.SETBACK) {
            setbacks++;
        }
        return setbacks < MAX_SETBACKS && clock.instant().isBefore(deadline);
    }
}
