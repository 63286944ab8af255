package io.dstack.vpn.agent.dns;

import java.net.InetAddress;
import java.util.List;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.dstack.vpn.api.peerset.StoredPeerSet;

/**
 * One query in, one response (or nothing) out, whatever the transport: the UDP and TCP listeners and the relay of a
 * simulated node all call {@link #respond}. The zone is rebuilt when the watcher holds a newer complete peer set
 * than the one it was built from, at the first query after the change, so a name follows the set with no delay and
 * an idle responder costs nothing.
 */
final class DnsResponder {
    private static final Logger LOG = LoggerFactory.getLogger(DnsResponder.class);

    private record Built(StoredPeerSet source, DnsZone zone) {
    }

    private final List<String> origin;
    private final int ttl;
    private final Supplier<StoredPeerSet> latest;
    private final SourceFilter sources;
    private final DnsMetrics metrics;
    private volatile Built built;

    DnsResponder(List<String> origin, int ttl, Supplier<StoredPeerSet> latest, SourceFilter sources, DnsMetrics metrics) {
        this.origin = List.copyOf(origin);
        this.ttl = ttl;
        this.latest = latest;
        this.sources = sources;
        this.metrics = metrics;
    }

    /** The response to {@code packet} from {@code source}; null to send nothing. Never throws. */
    byte[] respond(byte[] packet, int length, InetAddress source) {
        try {
            DnsZone zone = zone();
            if (!sources.allows(source, zone.cidr())) {
                metrics.dropped(DnsMetrics.Dropped.SOURCE);
                return null;
            }
            DnsMessage.Query q;
            try {
                q = DnsMessage.parse(packet, length);
            } catch (DnsMessage.Malformed m) {
                LOG.debug("DNS packet from {}: {}", source.getHostAddress(), m.getMessage());
                if (m.drop()) {
                    metrics.dropped(DnsMetrics.Dropped.MALFORMED);
                    return null;
                }
                metrics.answered(m.rcode);
                return DnsMessage.error(m);
            }
            DnsZone.Answer a = zone.answer(q.labels(), q.type(), q.qclass());
            metrics.answered(a.rcode());
            return DnsMessage.response(q, a.rcode(), a.authoritative(), a.answers(), a.authority());
        } catch (RuntimeException e) {
            // A bug must not stop the listener: the packet goes unanswered, the next one is served.
            LOG.warn("DNS query from {} failed: {}", source.getHostAddress(), e.toString());
            metrics.dropped(DnsMetrics.Dropped.MALFORMED);
            return null;
        }
    }

    private DnsZone zone() {
        StoredPeerSet set = latest.get();
        Built b = built;
        if (b == null || b.source() != set) {
            // Two listeners may both rebuild after a change: same input, same zone, last write wins.
            b = new Built(set, DnsZone.of(origin, set == null ? null : set.whole(), ttl));
            built = b;
        }
        return b.zone();
    }
}
