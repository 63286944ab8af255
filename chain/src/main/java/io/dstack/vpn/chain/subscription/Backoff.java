package io.dstack.vpn.chain.subscription;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with full jitter: a delay drawn uniformly from zero to {@code base * 2^failures}, capped.
 * Full jitter spreads the reconnects of many operators (or networks) after one endpoint restart.
 */
record Backoff(Duration base, Duration cap) {

    Backoff {
        if (base.isNegative() || base.isZero() || cap.compareTo(base) < 0) {
            throw new IllegalArgumentException("backoff needs 0 < base <= cap, got " + base + " and " + cap);
        }
    }

    /** The upper bound of the delay after {@code failures} failures in a row. */
    long ceilingNanos(int failures) {
        long ceiling = base.toNanos();
        for (int i = 0; i < failures; i++) {
            if (ceiling >= cap.toNanos() / 2) {
                return cap.toNanos(); // stop before doubling could overflow
            }
            ceiling *= 2;
        }
        return Math.min(ceiling, cap.toNanos());
    }

    Duration delay(int failures) {
        return Duration.ofNanos(ThreadLocalRandom.current().nextLong(ceilingNanos(failures) + 1));
    }
}
