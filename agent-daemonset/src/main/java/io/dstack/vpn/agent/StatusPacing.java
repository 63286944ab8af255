package io.dstack.vpn.agent;

import java.util.function.LongUnaryOperator;

/**
 * When the agent writes its VpnPeer status. Every node of a network applies the same peer-set change within
 * milliseconds of the others; written at once, their N status writes land on the API server together, right when
 * the next revocation's peer set is being written. So a new generation's report waits a random time of up to 1 ms
 * per peer (at most {@code maxSpreadMillis}): 1,000 nodes spread their writes over a second, 10 nodes over 10 ms.
 * A failure, a recovery and the first report are written at once: they are news, not echoes; stats alone at most
 * every stats interval. Pure: the caller owns the clock, the randomness and the writing.
 */
final class StatusPacing {
    static final long SPREAD_MILLIS_PER_PEER = 1;

    /** What to do with one report. {@code delayMillis} is only meaningful for {@link Kind#LATER}. */
    record Decision(Kind kind, long delayMillis) {
        static final Decision NOW = new Decision(Kind.NOW, 0);
        static final Decision SKIP = new Decision(Kind.SKIP, 0);
    }

    enum Kind { NOW, LATER, SKIP }

    private final long statsIntervalMillis;
    private final long maxSpreadMillis;
    /** Given a bound b > 0, a uniformly random delay in [0, b]. */
    private final LongUnaryOperator random;

    StatusPacing(long statsIntervalMillis, long maxSpreadMillis, LongUnaryOperator random) {
        this.statsIntervalMillis = statsIntervalMillis;
        this.maxSpreadMillis = maxSpreadMillis;
        this.random = random;
    }

    /**
     * @param lastGeneration the generation last written (-1: nothing yet)
     * @param lastOk         whether the last write reported success (null: nothing yet)
     */
    Decision decide(long now, long generation, boolean ok, int peers, long lastGeneration, Boolean lastOk, long lastWriteMillis) {
        if (lastOk == null || ok != lastOk) {
            return Decision.NOW;
        }
        if (generation == lastGeneration) {
            return now - lastWriteMillis < statsIntervalMillis ? Decision.SKIP : Decision.NOW;
        }
        if (!ok) {
            return Decision.NOW;
        }
        long bound = Math.min(maxSpreadMillis, Math.max(0, peers) * SPREAD_MILLIS_PER_PEER);
        return bound <= 0 ? Decision.NOW : new Decision(Kind.LATER, random.applyAsLong(bound));
    }
}
