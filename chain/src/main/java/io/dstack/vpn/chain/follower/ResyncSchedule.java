package io.dstack.vpn.chain.follower;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * When a resync is due: every interval, and at once after a log that could not be used (it may have been a
 * revocation: fail closed instead of trusting what we have). What it reads is {@link ResyncRange}'s business.
 */
final class ResyncSchedule {
    private final Clock clock;
    private final Duration interval;
    private Instant last;

    ResyncSchedule(Clock clock, Duration interval) {
        this.clock = clock;
        this.interval = interval;
    }

    /** The interval counts from the follower's start (a checkpoint load reads every token already). */
    void start() {
        last = clock.instant();
    }

    /** Logs were skipped as unusable: resync in this poll. */
    void forceNow() {
        last = Instant.EPOCH;
    }

    boolean due() {
        return last != null && !clock.instant().isBefore(last.plus(interval));
    }

    /** A resync starts now; the next one is due an interval later, even if this one fails. */
    void started() {
        last = clock.instant();
    }
}
