package io.dstack.vpn.agent.dns;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * Who may ask: the CIDRs of {@code DNS_ALLOW_FROM} (by default loopback, private, shared and link-local ranges, where
 * pods, nodes and CoreDNS live) plus the network's own overlay range. The agent shares the host's network and binds
 * every interface by default (so that the node address and the overlay address both answer): this keeps a public
 * interface from answering the internet (ADR 0016).
 */
final class SourceFilter {
    static final String DEFAULT = "127.0.0.0/8,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,169.254.0.0/16,"
            + "::1/128,fc00::/7,fe80::/10";

    /** One range: the network's bytes and its prefix length. */
    record Cidr(byte[] network, int prefix) {
        boolean contains(byte[] address) {
            if (address.length != network.length) {
                return false;
            }
            int full = prefix / 8;
            for (int i = 0; i < full; i++) {
                if (address[i] != network[i]) {
                    return false;
                }
            }
            int rest = prefix % 8;
            if (rest == 0) {
                return true;
            }
            int mask = 0xff << (8 - rest) & 0xff;
            return (address[full] & mask) == (network[full] & mask);
        }

        /** Parses {@code a.b.c.d/n} or {@code x:y::/n}; throws IllegalArgumentException (naming the value) otherwise. */
        static Cidr parse(String s) {
            String v = s.strip();
            int slash = v.indexOf('/');
            String ip = slash < 0 ? v : v.substring(0, slash);
            // Literals only: InetAddress.getByName would look a host name up in DNS.
            if (ip.isEmpty() || !ip.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == '.' || c == ':')) {
                throw new IllegalArgumentException("not a CIDR: '" + s + "'");
            }
            byte[] address;
            try {
                address = InetAddress.getByName(ip).getAddress();
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("not a CIDR: '" + s + "'");
            }
            int prefix;
            try {
                prefix = slash < 0 ? address.length * 8 : Integer.parseInt(v.substring(slash + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("not a CIDR: '" + s + "'");
            }
            if (prefix < 0 || prefix > address.length * 8) {
                throw new IllegalArgumentException("not a CIDR: '" + s + "' (prefix out of range)");
            }
            return new Cidr(address, prefix);
        }
    }

    private final List<Cidr> allowed;

    private SourceFilter(List<Cidr> allowed) {
        this.allowed = allowed;
    }

    /** @param csv comma-separated CIDRs; throws IllegalArgumentException on a bad one */
    static SourceFilter parse(String csv) {
        List<Cidr> out = new ArrayList<>();
        for (String part : csv.split(",")) {
            if (!part.isBlank()) {
                out.add(Cidr.parse(part));
            }
        }
        return new SourceFilter(List.copyOf(out));
    }

    /**
     * @param overlayCidr the network's range, allowed too (members ask over the overlay); null or unreadable = none
     */
    boolean allows(InetAddress source, String overlayCidr) {
        byte[] a = source.getAddress();
        for (Cidr c : allowed) {
            if (c.contains(a)) {
                return true;
            }
        }
        if (overlayCidr != null) {
            try {
                return Cidr.parse(overlayCidr).contains(a);
            } catch (IllegalArgumentException e) {
                return false;
            }
        }
        return false;
    }
}
