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

    default void resynced(int tokens, int corrected) {
    }
}
