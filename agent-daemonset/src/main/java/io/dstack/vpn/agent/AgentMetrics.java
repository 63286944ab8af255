package io.dstack.vpn.agent;

import java.util.concurrent.atomic.AtomicLong;

import io.dstack.vpn.agent.dns.DnsMetrics;
import io.dstack.vpn.proxy.ProxyMetrics;

/** A few counters and gauges, exposed in Prometheus text form at /metrics. */
final class AgentMetrics {
    private final AtomicLong generation = new AtomicLong(-1);
    private final AtomicLong peers = new AtomicLong();
    private final AtomicLong applies = new AtomicLong();
    private final AtomicLong changes = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong lastApplyNanos = new AtomicLong();
    private final AtomicLong tunnels = new AtomicLong();
    private final AtomicLong sessionsRenewed = new AtomicLong();
    /** The node proxy's own series, once it runs inside this JVM (ADR 0008). */
    private volatile ProxyMetrics proxy;
    /** The DNS responder's series (ADR 0016). */
    private volatile DnsMetrics dns;

    void proxy(ProxyMetrics metrics) {
        proxy = metrics;
    }

    void applied(long gen, int peerCount, int changeCount, long nanos) {
        generation.set(gen);
        peers.set(peerCount);
        applies.incrementAndGet();
        changes.addAndGet(changeCount);
        lastApplyNanos.set(nanos);
    }

    void dns(DnsMetrics metrics) {
        dns = metrics;
    }

    void tunnels(int n) {
        tunnels.set(n);
    }

    void sessionsRenewed(int n) {
        sessionsRenewed.addAndGet(n);
    }

    void failed() {
        failures.incrementAndGet();
    }

    void peers(int n) {
        peers.set(n);
    }

    long appliedGeneration() {
        return generation.get();
    }

    String prometheus() {
        return "# TYPE dstack_vpn_agent_applied_generation gauge\ndstack_vpn_agent_applied_generation " + generation.get() + "\n"
                + "# TYPE dstack_vpn_agent_peers gauge\ndstack_vpn_agent_peers " + peers.get() + "\n"
                + "# TYPE dstack_vpn_agent_applies_total counter\ndstack_vpn_agent_applies_total " + applies.get() + "\n"
                + "# TYPE dstack_vpn_agent_peer_changes_total counter\ndstack_vpn_agent_peer_changes_total " + changes.get() + "\n"
                + "# TYPE dstack_vpn_agent_apply_failures_total counter\ndstack_vpn_agent_apply_failures_total " + failures.get() + "\n"
                + "# TYPE dstack_vpn_agent_last_apply_seconds gauge\ndstack_vpn_agent_last_apply_seconds " + lastApplyNanos.get() / 1e9 + "\n"
                + "# TYPE dstack_vpn_agent_proxy_tunnels gauge\ndstack_vpn_agent_proxy_tunnels " + tunnels.get() + "\n"
                + "# TYPE dstack_vpn_agent_tunnel_sessions_renewed_total counter\ndstack_vpn_agent_tunnel_sessions_renewed_total "
                + sessionsRenewed.get() + "\n"
                + (proxy == null ? "" : proxy.prometheus())
                + (dns == null ? "" : dns.prometheus());
    }
}
