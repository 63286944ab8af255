package io.dstack.vpn.chain.subscription;

/**
 * A snapshot of a {@link ChainSubscription}, for metrics and status.
 *
 * @param state               where it is now
 * @param connects            connections that became live (both subscriptions confirmed)
 * @param reconnects          connection attempts after the first one, successful or not
 * @param notifications       heads and logs delivered to the listener
 * @param rejected            messages dropped as malformed: not JSON, not JSON-RPC, bad heads or logs, answers to
 *                            requests never sent, binary messages
 * @param ignored             well-formed notifications not delivered: of a subscription id we do not hold, or
 *                            before both subscriptions were confirmed
 * @param consecutiveFailures attempts in a row that ended before delivering anything
 * @param lastProblem         the last reason a connection ended or a message was rejected, cleaned and short; null
 *                            if none yet
 */
public record SubscriptionStats(SubscriptionState state, long connects, long reconnects, long notifications, long rejected,
        long ignored, int consecutiveFailures, String lastProblem) {
}
