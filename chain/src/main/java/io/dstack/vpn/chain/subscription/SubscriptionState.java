package io.dstack.vpn.chain.subscription;

/** Where a {@link ChainSubscription} is. */
public enum SubscriptionState {
    /** Opening a connection or waiting for the subscriptions to be confirmed. */
    CONNECTING,
    /** Both subscriptions confirmed: heads and logs are delivered. */
    LIVE,
    /** Not started, waiting to retry, or closed. */
    DOWN
}
