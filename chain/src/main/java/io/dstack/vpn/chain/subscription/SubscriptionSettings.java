package io.dstack.vpn.chain.subscription;

import java.time.Duration;

import io.dstack.vpn.chain.rpc.RpcDestinations;

/**
 * What one WebSocket endpoint may cost us and how hard we retry it. The endpoint is chosen by whoever may create
 * a VpnNetwork, so every bound here is about a hostile server as much as a broken one.
 *
 * @param subscribeDeadline      from starting a connection (TCP, TLS, upgrade) to both subscriptions confirmed;
 *                               past it the connection is dropped and retried
 * @param idleTimeout            no frame at all (message, ping or pong) for this long drops the connection; a ping
 *                               is sent every quarter of it so that a quiet but healthy server answers
 * @param maxMessageChars        largest message, counted over all its fragments as they arrive; a longer one drops
 *                               the connection before it is held whole (JSON-RPC is ASCII: characters are bytes)
 * @param backoffBase            ceiling of the first retry delay, doubled per failure in a row (full jitter)
 * @param backoffCap             largest retry delay ceiling
 * @param failuresBeforeFallback failed attempts in a row after which {@link ChainSubscription#fallbackAdvised()} says
 *                               to poll instead
 * @param destinations           where connections may go: the same policy as the HTTP RPC
 */
public record SubscriptionSettings(Duration subscribeDeadline, Duration idleTimeout, long maxMessageChars, Duration backoffBase,
        Duration backoffCap, int failuresBeforeFallback, RpcDestinations destinations) {

    /** 1 Mi characters: a head is under 1 KiB and one log of the contract under 2 KiB. */
    public static final long DEFAULT_MAX_MESSAGE = 1L << 20;

    public SubscriptionSettings {
        if (subscribeDeadline.isNegative() || subscribeDeadline.isZero() || idleTimeout.isNegative() || idleTimeout.isZero()) {
            throw new IllegalArgumentException("subscribe deadline and idle timeout must be positive");
        }
        if (maxMessageChars < 1024) {
            throw new IllegalArgumentException("a message cap under 1 KiB would refuse ordinary heads");
        }
        if (failuresBeforeFallback < 1) {
            throw new IllegalArgumentException("failuresBeforeFallback must be at least 1");
        }
        new Backoff(backoffBase, backoffCap); // validates
        if (destinations == null) {
            throw new IllegalArgumentException("destinations are required (RpcDestinations.permitAll() for none)");
        }
    }

    /** 5 s to subscribe, 60 s idle, 1 MiB messages, retries from 200 ms to 30 s, polling advised after 5 failures. */
    public static SubscriptionSettings defaults(RpcDestinations destinations) {
        return new SubscriptionSettings(Duration.ofSeconds(5), Duration.ofSeconds(60), DEFAULT_MAX_MESSAGE, Duration.ofMillis(200),
                Duration.ofSeconds(30), 5, destinations);
    }

    public SubscriptionSettings withSubscribeDeadline(Duration d) {
        return new SubscriptionSettings(d, idleTimeout, maxMessageChars, backoffBase, backoffCap, failuresBeforeFallback, destinations);
    }

    public SubscriptionSettings withIdleTimeout(Duration d) {
        return new SubscriptionSettings(subscribeDeadline, d, maxMessageChars, backoffBase, backoffCap, failuresBeforeFallback, destinations);
    }

    public SubscriptionSettings withMaxMessageChars(long chars) {
        return new SubscriptionSettings(subscribeDeadline, idleTimeout, chars, backoffBase, backoffCap, failuresBeforeFallback, destinations);
    }

    public SubscriptionSettings withBackoff(Duration base, Duration cap) {
        return new SubscriptionSettings(subscribeDeadline, idleTimeout, maxMessageChars, base, cap, failuresBeforeFallback, destinations);
    }

    public SubscriptionSettings withFailuresBeforeFallback(int n) {
        return new SubscriptionSettings(subscribeDeadline, idleTimeout, maxMessageChars, backoffBase, backoffCap, n, destinations);
    }

    public SubscriptionSettings withDestinations(RpcDestinations d) {
        return new SubscriptionSettings(subscribeDeadline, idleTimeout, maxMessageChars, backoffBase, backoffCap, failuresBeforeFallback, d);
    }

    Backoff backoff() {
        return new Backoff(backoffBase, backoffCap);
    }

    /** How often the ping-and-idle check runs. */
    Duration pingInterval() {
        return idleTimeout.dividedBy(4);
    }
}
