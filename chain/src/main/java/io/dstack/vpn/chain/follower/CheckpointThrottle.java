package io.dstack.vpn.chain.follower;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * When to write the checkpoint (an API write each time). Token changes are written at once; otherwise at most every
 * {@link #EVERY} while the follower advances or rewinds. Right after a reorg, token changes wait too: an endpoint
 * that reorgs on every poll makes tokens flap (re-read, re-applied) and would turn every poll into a write. A stale
 * checkpoint is safe: on resume its hash no longer matches and the follower rewinds again.
 */
final class CheckpointThrottle {
    static final Duration EVERY = Duration.ofSeconds(10);

    private final Clock clock;
    private Instant lastSave = Instant.EPOCH;
    private Instant lastReorg;
    /** A change that is not in the saved checkpoint yet. */
    private boolean unsaved;

    CheckpointThrottle(Clock clock) {
        this.clock = clock;
    }

    /** After the follower advanced: whether to save now; a change that has to wait is remembered. */
    boolean saveAfterAdvance(boolean tokensChanged) {
        boolean storming = lastReorg != null && clock.instant().isBefore(lastReorg.plus(EVERY));
        if (tokensChanged && !storming || due()) {
            return true;
        }
        unsaved |= tokensChanged;
        return false;
    }

    /** After a rewind: whether to save now; otherwise the rewind is saved once the interval has passed. */
    boolean saveAfterReorg() {
        lastReorg = clock.instant();
        if (due()) {
            return true;
        }
        unsaved = true;
        return false;
    }

    /** Whether a change that had to wait can be saved now. */
    boolean savePending() {
        return unsaved && due();
    }

    void saved() {
        lastSave = clock.instant();
        unsaved = false;
    }

    private boolean due() {
        return !clock.instant().isBefore(lastSave.plus(EVERY));
    }
}
