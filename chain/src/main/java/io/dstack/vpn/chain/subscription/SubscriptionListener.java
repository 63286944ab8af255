package io.dstack.vpn.chain.subscription;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What a {@link ChainSubscription} tells its user. Every call comes from the subscription's one control thread, in
 * order, never concurrently; a call should return quickly (it holds up the next message). An exception thrown here
 * is logged and otherwise ignored. Nothing is called after {@link ChainSubscription#close()} has returned.
 */
public interface SubscriptionListener {

    /**
     * Both subscriptions (new heads and the contract's logs) are confirmed on a new connection. Heads and logs from
     * before this call were not delivered and may have been missed while disconnected: read the logs since the last
     * processed block over HTTP now. Logs may then arrive both ways; the caller de-duplicates.
     */
    void connected();

    /** A new head, checked (number, hashes, timestamp); not necessarily the child of the previous one (reorgs, gaps). */
    void head(Head head);

    /**
     * One log of the contract with one of the followed topics, as received (including {@code removed: true} ones),
     * after the same checks as an eth_getLogs entry except the block range.
     */
    void log(JsonNode log);

    /**
     * A connection or a connection attempt ended; the subscription retries after a backoff. Not paired with
     * {@link #connected()}: called for failed attempts too, so that the caller can count them
     * ({@link ChainSubscription#consecutiveFailures()}) and fall back to polling.
     *
     * @param reason why, cleaned and short; names the endpoint by scheme, host and port only
     */
    void disconnected(String reason);
}
