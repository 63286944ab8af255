package io.dstack.vpn.operator.network;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;

/** Per-network gauges and the render timer, exported at /q/metrics. */
@ApplicationScoped
public class NetworkMetrics {
    @Inject
    MeterRegistry registry;

    private final Map<String, AtomicLong> gauges = new ConcurrentHashMap<>();

    public void peers(String namespace, String network, String phase, long value) {
        gauge("dstack_vpn_peers", Tags.of("namespace", namespace, "network", network, "phase", phase), value);
    }

    public void addresses(String namespace, String network, long allocated, long capacity) {
        gauge("dstack_vpn_addresses_allocated", Tags.of("namespace", namespace, "network", network), allocated);
        gauge("dstack_vpn_addresses_capacity", Tags.of("namespace", namespace, "network", network), capacity);
    }

    public void peerSet(String namespace, String network, long generation, long bytes, long shards, long nodesApplied) {
        Tags tags = Tags.of("namespace", namespace, "network", network);
        gauge("dstack_vpn_peerset_generation", tags, generation);
        gauge("dstack_vpn_peerset_bytes", tags, bytes);
        gauge("dstack_vpn_peerset_shards", tags, shards);
        gauge("dstack_vpn_nodes_applied", tags, nodesApplied);
    }

    public void accessChange(String namespace, String network, String toPhase) {
        registry.counter("dstack_vpn_access_changes_total", "namespace", namespace, "network", network, "phase", toPhase)
                .increment();
    }

    public Timer renderTimer() {
        return registry.timer("dstack_vpn_network_reconcile_seconds");
    }

    private void gauge(String name, Tags tags, long value) {
        String key = name + tags;
        gauges.computeIfAbsent(key, k -> registry.gauge(name, tags, new AtomicLong())).set(value);
    }
}
