package io.dstack.vpn.chain.follower;

/** Told about progress and trouble, for status conditions, events and metrics. */
public interface FollowerListener {
    /** A new checkpoint; called at most once per save interval, and always when the token set changed. */
    default void checkpoint(Checkpoint checkpoint) {
    }

    /** After every poll: the health and position the status should show. */
    default void health(FollowerHealth health) {
    }

    default void reorg(long fromBlock, long toAncestor, int tokensReread) {
    }

    /** Decoded contract events applied in one step (malformed ones included). */
    default void eventsApplied(int count) {
    }

    /**
     * A resync is done (it may have taken more than one poll).
     *
     * @param tokens    tokens read at the checkpoint: every known one at a full resync, otherwise the ones the logs since
     *                  the previous resync name
     * @param corrected tokens whose record changed: events were missed
     */
    default void resynced(int tokens, int corrected) {
    }
}
