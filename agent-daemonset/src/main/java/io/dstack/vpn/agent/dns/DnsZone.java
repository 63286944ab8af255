package io.dstack.vpn.agent.dns;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.dstack.vpn.agent.dns.DnsMessage.ARecord;
import io.dstack.vpn.agent.dns.DnsMessage.Rr;
import io.dstack.vpn.agent.dns.DnsMessage.SoaRecord;
import io.dstack.vpn.api.peerset.PeerSet;

/**
 * The zone {@code <network>.<domain>} of one peer set: {@code <nodeId>.<network>.<domain>} is the member's overlay
 * address, for every member of the set, this node included (ADR 0016). Built from the very set the agent applies,
 * so a revoked node's name is gone from the moment its peer is. Pure: no I/O, no clock.
 */
final class DnsZone {

    /** The outcome of one question: rcode, AA bit, answer and authority sections. */
    record Answer(int rcode, boolean authoritative, List<Rr> answers, List<Rr> authority) {
        static Answer refused() {
            return new Answer(DnsMessage.REFUSED, false, List.of(), List.of());
        }
    }

    private final List<String> origin;
    /** Null while the agent has no peer set yet: names inside the zone get SERVFAIL (we cannot say yes or no). */
    private final Map<String, byte[]> addresses;
    private final long serial;
    private final int ttl;
    private final String cidr;

    private DnsZone(List<String> origin, Map<String, byte[]> addresses, long serial, int ttl, String cidr) {
        this.origin = origin;
        this.addresses = addresses;
        this.serial = serial;
        this.ttl = ttl;
        this.cidr = cidr;
    }

    /**
     * @param origin lower-case labels of {@code <network>.<domain>}
     * @param set    the newest complete peer set; null before the first one
     * @param ttl    seconds, for answers and (as the SOA minimum) for negative answers
     */
    static DnsZone of(List<String> origin, PeerSet set, int ttl) {
        if (set == null) {
            return new DnsZone(origin, null, 0, ttl, null);
        }
        Map<String, byte[]> addresses = new HashMap<>();
        for (PeerSet.Peer p : set.peers()) {
            byte[] a = ipv4(p.address());
            if (p.nodeId() != null && a != null) {
                addresses.put(p.nodeId().toLowerCase(java.util.Locale.ROOT), a);
            }
        }
        // The SOA serial follows the peer-set generation (a 32-bit field: it wraps, as serials may, RFC 1982).
        return new DnsZone(origin, addresses, set.generation() & 0xffffffffL, ttl, set.cidr());
    }

    /** The overlay range of the set (members ask from there); null before the first set. */
    String cidr() {
        return cidr;
    }

    /** How many names the zone holds (one per member with an address). */
    int size() {
        return addresses == null ? 0 : addresses.size();
    }

    Answer answer(List<String> name, int type, int qclass) {
        int below = name.size() - origin.size();
        if (below < 0 || !name.subList(below, name.size()).equals(origin)) {
            return Answer.refused(); // not our zone: we are no resolver
        }
        if (qclass != DnsMessage.CLASS_IN || type == DnsMessage.TYPE_AXFR || type == DnsMessage.TYPE_IXFR) {
            return Answer.refused(); // other classes are not ours; the zone is not for transfer (no listing of members)
        }
        if (addresses == null) {
            return new Answer(DnsMessage.SERVFAIL, false, List.of(), List.of());
        }
        SoaRecord soa = new SoaRecord(origin.size(), serial, ttl, ttl);
        if (below == 0) {
            boolean wantsSoa = type == DnsMessage.TYPE_SOA || type == DnsMessage.TYPE_ANY;
            return wantsSoa ? new Answer(DnsMessage.NOERROR, true, List.of(soa), List.of())
                    : new Answer(DnsMessage.NOERROR, true, List.of(), List.of(soa));
        }
        byte[] address = below == 1 ? addresses.get(name.get(0)) : null;
        if (address == null) {
            return new Answer(DnsMessage.NXDOMAIN, true, List.of(), List.of(soa));
        }
        if (type == DnsMessage.TYPE_A || type == DnsMessage.TYPE_ANY) {
            return new Answer(DnsMessage.NOERROR, true, List.of(new ARecord(address, ttl)), List.of());
        }
        return new Answer(DnsMessage.NOERROR, true, List.of(), List.of(soa)); // the name exists, not with this type (AAAA...)
    }

    /** A dotted IPv4 address as 4 bytes; null for anything else (the set is checked, but this never throws). */
    static byte[] ipv4(String s) {
        if (s == null) {
            return null;
        }
        String[] parts = s.split("\\.", -1);
        if (parts.length != 4) {
            return null;
        }
        byte[] out = new byte[4];
        for (int i = 0; i < 4; i++) {
            if (parts[i].isEmpty() || parts[i].length() > 3 || !parts[i].chars().allMatch(c -> c >= '0' && c <= '9')) {
                return null;
            }
            int v = Integer.parseInt(parts[i]);
            if (v > 255) {
                return null;
            }
            out[i] = (byte) v;
        }
        return out;
    }
}
