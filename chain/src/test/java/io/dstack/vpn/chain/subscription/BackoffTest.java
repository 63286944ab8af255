package io.dstack.vpn.chain.subscription;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;

import org.junit.jupiter.api.Test;

class BackoffTest {
    final Backoff backoff = new Backoff(Duration.ofMillis(200), Duration.ofSeconds(30));

    @Test
    void theCeilingDoublesPerFailureUpToTheCap() {
        assertThat(backoff.ceilingNanos(0)).isEqualTo(Duration.ofMillis(200).toNanos());
        assertThat(backoff.ceilingNanos(1)).isEqualTo(Duration.ofMillis(400).toNanos());
        assertThat(backoff.ceilingNanos(3)).isEqualTo(Duration.ofMillis(1600).toNanos());
        assertThat(backoff.ceilingNanos(7)).isEqualTo(Duration.ofMillis(25600).toNanos());
        assertThat(backoff.ceilingNanos(8)).isEqualTo(Duration.ofSeconds(30).toNanos());
        assertThat(backoff.ceilingNanos(Integer.MAX_VALUE)).as("no overflow").isEqualTo(Duration.ofSeconds(30).toNanos());
    }

    @Test
    void delaysAreSpreadFromZeroToTheCeiling() {
        long max = 0;
        long min = Long.MAX_VALUE;
        for (int i = 0; i < 2000; i++) {
            long d = backoff.delay(3).toNanos();
            assertThat(d).isBetween(0L, Duration.ofMillis(1600).toNanos());
            max = Math.max(max, d);
            min = Math.min(min, d);
        }
        assertThat(min).as("full jitter reaches near zero").isLessThan(Duration.ofMillis(100).toNanos());
        assertThat(max).as("and near the ceiling").isGreaterThan(Duration.ofMillis(1500).toNanos());
    }

    @Test
    void refusesABaseAboveTheCap() {
        assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Backoff(Duration.ZERO, Duration.ofSeconds(1))).isInstanceOf(IllegalArgumentException.class);
    }
}
