package io.dstack.vpn.agent.nodeapi;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntSupplier;

/** The node API's counters and gauges, in Prometheus text form at /metrics on HTTP_PORT. */
public final class NodeApiMetrics {
    private final Map<Integer, LongAdder> responses = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> refusals = new ConcurrentHashMap<>();
    private final AtomicLong polls = new AtomicLong();
    private volatile IntSupplier connections = () -> 0;

    void responded(int status) {
        responses.computeIfAbsent(status, s -> new LongAdder()).increment();
    }

    void refused(String reason) {
        refusals.computeIfAbsent(reason, r -> new LongAdder()).increment();
    }

    void pollStarted() {
        polls.incrementAndGet();
    }

    void pollEnded() {
        polls.decrementAndGet();
    }

    void connections(IntSupplier open) {
        connections = open;
    }

    /** Refusals so far with this reason (tests). */
    long refusals(String reason) {
        LongAdder a = refusals.get(reason);
        return a == null ? 0 : a.sum();
    }

    public String prometheus() {
        StringBuilder sb = new StringBuilder();
        sb.append("# TYPE dstack_vpn_node_api_responses_total counter\n");
        new TreeMap<>(responses).forEach((code, n) -> sb.append("dstack_vpn_node_api_responses_total{code=\"").append(code).append("\"} ").append(n.sum()).append('\n'));
        sb.append("# TYPE dstack_vpn_node_api_refusals_total counter\n");
        new TreeMap<>(refusals).forEach((reason, n) -> sb.append("dstack_vpn_node_api_refusals_total{reason=\"").append(reason).append("\"} ").append(n.sum()).append('\n'));
        sb.append("# TYPE dstack_vpn_node_api_polls gauge\ndstack_vpn_node_api_polls ").append(polls.get()).append('\n');
        sb.append("# TYPE dstack_vpn_node_api_connections gauge\ndstack_vpn_node_api_connections ").append(connections.getAsInt()).append('\n');
        return sb.toString();
    }
}
