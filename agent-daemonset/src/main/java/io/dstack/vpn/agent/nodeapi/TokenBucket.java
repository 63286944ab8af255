package io.dstack.vpn.agent.nodeapi;

import java.util.function.LongSupplier;

/** A token bucket: {@code ratePerSecond} tokens a second, at most {@code burst} saved up. */
final class TokenBucket {
    private final double ratePerNano;
    private final double burst;
    private final LongSupplier nanos;
    private double tokens;
    private long last;

    TokenBucket(double ratePerSecond, int burst, LongSupplier nanos) {
        this.ratePerNano = ratePerSecond / 1e9;
        this.burst = burst;
        this.nanos = nanos;
        this.tokens = burst;
        this.last = nanos.getAsLong();
    }

    synchronized boolean tryTake() {
        long now = nanos.getAsLong();
        tokens = Math.min(burst, tokens + (now - last) * ratePerNano);
        last = now;
        if (tokens >= 1) {
            tokens -= 1;
            return true;
        }
        return false;
    }
}
