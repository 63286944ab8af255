package io.dstack.vpn.chain.follower;

import java.time.Duration;
import java.time.Instant;

/**
 * @param synced         initial sync (or checkpoint load) finished
 * @param checkpoint     last processed block
 * @param head           newest block the RPC reported
 * @param lastSuccess    time of the last successful poll
 * @param error          the last poll's error (no secrets), or null when it succeeded
 * @param fatal          an error no retry fixes (e.g. the RPC serves another chain): nothing is admitted
 * @param blockTime      average time between blocks over up to the last 1000 blocks, measured at the start and at
 *                       every resync; null while unknown
 */
public record FollowerHealth(boolean synced, long checkpoint, String checkpointHash, long head, Instant lastSuccess,
        String error, boolean fatal, int tokens, Duration blockTime) {
    public long lag() {
        return head < 0 || checkpoint < 0 ? 0 : Math.max(0, head - checkpoint);
    }
}
