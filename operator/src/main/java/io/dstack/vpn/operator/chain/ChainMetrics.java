package io.dstack.vpn.operator.chain;

import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.dstack.vpn.chain.follower.FollowerHealth;
import io.dstack.vpn.chain.rpc.RpcException;
import io.dstack.vpn.chain.rpc.RpcListener;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;

/** RPC latency, calls and errors, follower position and lag, reorgs and resync corrections. */
@ApplicationScoped
public class ChainMetrics {
    @Inject
    MeterRegistry registry;

    private final java.util.Map<String, java.util.concurrent.atomic.AtomicLong> gauges = new java.util.concurrent.ConcurrentHashMap<>();

    RpcListener rpcListener(String namespace, String network) {
        return new RpcListener() {
            @Override
            public void completed(String endpoint, String method, int calls, long nanos) {
                record(endpoint, method, calls, nanos, "ok");
            }

            @Override
            public void failed(String endpoint, String method, int calls, long nanos, RpcException error) {
                record(endpoint, method, calls, nanos, error.retryable() ? "retryable_error" : "error");
            }

            private void record(String endpoint, String method, int calls, long nanos, String outcome) {
                Tags tags = Tags.of("namespace", namespace, "network", network, "endpoint", endpoint, "method", method, "outcome", outcome);
                registry.timer("dstack_vpn_chain_rpc_seconds", tags).record(nanos, TimeUnit.NANOSECONDS);
                registry.counter("dstack_vpn_chain_rpc_calls_total", tags).increment(calls);
            }
        };
    }

    void position(String namespace, String network, FollowerHealth h) {
        gauge("dstack_vpn_chain_checkpoint_block", namespace, network, h.checkpoint());
        gauge("dstack_vpn_chain_head_block", namespace, network, h.head());
        gauge("dstack_vpn_chain_lag_blocks", namespace, network, h.lag());
        gauge("dstack_vpn_chain_tokens", namespace, network, h.tokens());
        gauge("dstack_vpn_chain_healthy", namespace, network, h.error() == null ? 1 : 0);
    }

    /** Whether the network's WebSocket subscription is live (1) or the follower polls (0); each (re)connect is counted. */
    void subscription(String namespace, String network, boolean live) {
        gauge("dstack_vpn_chain_subscription_live", namespace, network, live ? 1 : 0);
        if (live) {
            registry.counter("dstack_vpn_chain_subscription_connects_total", "namespace", namespace, "network", network).increment();
        }
    }

    void reorg(String namespace, String network) {
        registry.counter("dstack_vpn_chain_reorgs_total", "namespace", namespace, "network", network).increment();
    }

    void resync(String namespace, String network, int corrected) {
        registry.counter("dstack_vpn_chain_resync_corrections_total", "namespace", namespace, "network", network).increment(corrected);
    }

    void events(String namespace, String network, int count) {
        registry.counter("dstack_vpn_chain_events_total", "namespace", namespace, "network", network).increment(count);
    }

    private void gauge(String name, String namespace, String network, long value) {
        Tags tags = Tags.of("namespace", namespace, "network", network);
        gauges.computeIfAbsent(name + tags, k -> registry.gauge(name, tags, new java.util.concurrent.atomic.AtomicLong())).set(value);
    }
}
