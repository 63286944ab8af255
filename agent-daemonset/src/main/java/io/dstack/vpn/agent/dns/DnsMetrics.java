package io.dstack.vpn.agent.dns;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/** The DNS responder's counters, appended to the agent's /metrics (docs/metrics.md). */
public final class DnsMetrics {
    /** Why a packet got no answer at all. */
    enum Dropped {
        /** Not a query we can answer anything to: shorter than a header, or a response. */
        MALFORMED,
        /** From an address outside DNS_ALLOW_FROM and the overlay. */
        SOURCE,
        /** A TCP connection over the connection limit. */
        BUSY
    }

    private final AtomicLongArray byRcode = new AtomicLongArray(DnsMessage.RCODE_NAMES.size());
    private final AtomicLongArray dropped = new AtomicLongArray(Dropped.values().length);
    private final AtomicLong up = new AtomicLong();

    void answered(int rcode) {
        if (rcode >= 0 && rcode < byRcode.length()) {
            byRcode.incrementAndGet(rcode);
        }
    }

    void dropped(Dropped why) {
        dropped.incrementAndGet(why.ordinal());
    }

    void up(boolean listening) {
        up.set(listening ? 1 : 0);
    }

    long count(String rcodeName) {
        return byRcode.get(DnsMessage.RCODE_NAMES.indexOf(rcodeName));
    }

    long droppedCount(Dropped why) {
        return dropped.get(why.ordinal());
    }

    public String prometheus() {
        StringBuilder s = new StringBuilder();
        s.append("# TYPE dstack_vpn_agent_dns_up gauge\ndstack_vpn_agent_dns_up ").append(up.get()).append('\n');
        s.append("# TYPE dstack_vpn_agent_dns_queries_total counter\n");
        for (int i = 0; i < byRcode.length(); i++) {
            s.append("dstack_vpn_agent_dns_queries_total{rcode=\"").append(DnsMessage.RCODE_NAMES.get(i)).append("\"} ")
                    .append(byRcode.get(i)).append('\n');
        }
        s.append("# TYPE dstack_vpn_agent_dns_dropped_total counter\n");
        for (Dropped d : Dropped.values()) {
            s.append("dstack_vpn_agent_dns_dropped_total{reason=\"").append(d.name().toLowerCase(java.util.Locale.ROOT)).append("\"} ")
                    .append(dropped.get(d.ordinal())).append('\n');
        }
        return s.toString();
    }
}
