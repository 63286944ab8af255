package io.dstack.vpn.chain.rpc;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Where the operator may send JSON-RPC requests. The RPC URL of a VpnNetwork is chosen by whoever may create
 * one, so by default it must not reach the operator's own neighbourhood: loopback, link-local (cloud metadata
 * at 169.254.169.254), private and shared ranges (where Pod and Service CIDRs live), cluster DNS names and
 * single-label names (resolved through the pod's search path to Services). An operator-level allow list of
 * CIDRs and host names lets a node run in-cluster; see docs/adr/0010-rpc-destinations.md.
 */
public final class RpcDestinations {
    /**
     * Ranges denied unless allowed: what a URL must not reach from inside a cluster. The chart's egress
     * NetworkPolicy for the operator excepts the same ranges (ChartIT compares them).
     */
    public static final List<String> INTERNAL_CIDRS = List.of(
            "0.0.0.0/8", "127.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
            "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
            "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "64:ff9b:1::/48");
    static final List<AddressRange> INTERNAL = INTERNAL_CIDRS.stream().map(AddressRange::parse).toList();
    /** Name suffixes of cluster DNS and of names that only mean something locally. */
    static final List<String> INTERNAL_SUFFIXES = List.of(".svc", ".cluster.local", ".local", ".localhost", ".internal",
            ".localdomain", ".home.arpa");

    private final boolean permitAll;
    private final List<AddressRange> allowedRanges;
    private final List<String> allowedNames;
    private final List<AddressRange> extraDenied;

    private RpcDestinations(boolean permitAll, List<AddressRange> allowedRanges, List<String> allowedNames, List<AddressRange> extraDenied) {
        this.permitAll = permitAll;
        this.allowedRanges = allowedRanges;
        this.allowedNames = allowedNames;
        this.extraDenied = extraDenied;
    }

    /** No restriction: for the admin CLI, which talks to the endpoint its own user chose. */
    public static RpcDestinations permitAll() {
        return new RpcDestinations(true, List.of(), List.of(), List.of());
    }

    /**
     * Denies internal destinations except those allowed.
     *
     * @param allow     CIDRs or addresses ({@code 172.18.0.1/32}), host names ({@code anvil.chain.svc}) or name
     *                  suffixes ({@code *.chain.svc}); a name allows the name, not what it resolves to
     * @param alsoDeny  further CIDRs to treat as internal (a cluster whose Pod or Service range is public)
     * @throws IllegalArgumentException naming an entry that is neither
     */
    public static RpcDestinations denyInternal(List<String> allow, List<String> alsoDeny) {
        List<AddressRange> ranges = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (String raw : allow) {
            String e = raw.strip().toLowerCase(Locale.ROOT);
            if (e.isEmpty()) {
                continue;
            }
            if (e.matches("[0-9a-f:.]+(/\\d+)?") && (e.contains(":") || e.matches("[0-9./]+"))) {
                ranges.add(AddressRange.parse(e));
            } else if (e.matches("(\\*\\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?")) {
                names.add(e);
            } else {
                throw new IllegalArgumentException("RPC allow-list entry '" + raw.strip() + "' is neither a CIDR nor a host name");
            }
        }
        List<AddressRange> denied = alsoDeny.stream().map(String::strip).filter(s -> !s.isEmpty()).map(AddressRange::parse).toList();
        return new RpcDestinations(false, List.copyOf(ranges), List.copyOf(names), denied);
    }

    /**
     * Why the URL may not be used, or null. Checks what the URL says (scheme, host name, literal address)
     * without a DNS lookup: cheap enough for a reconcile.
     */
    public String staticProblem(URI uri) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            return "only http and https RPC URLs are supported";
        }
        String host = host(uri);
        if (host == null || host.isEmpty()) {
            return "the RPC URL has no host";
        }
        if (permitAll || nameAllowed(host)) {
            return null;
        }
        if (isLiteral(host)) {
            try {
                return addressProblem(InetAddress.getByName(host));
            } catch (UnknownHostException e) {
                return "the RPC URL's host is not a valid address";
            }
        }
        if (!host.contains(".")) {
            return "single-label host names resolve through the cluster's DNS search path to Services and are not allowed";
        }
        for (String suffix : INTERNAL_SUFFIXES) {
            if (host.endsWith(suffix) || host.equals(suffix.substring(1))) {
                return "'" + suffix + "' names are cluster- or host-internal";
            }
        }
        return null;
    }

    /**
     * Why the URL may not be used, or null: {@link #staticProblem} plus every address its host resolves to
     * (all must pass: a name with one public and one internal address is denied).
     */
    public String problem(URI uri) {
        String s = staticProblem(uri);
        if (s != null || permitAll) {
            return s;
        }
        String host = host(uri);
        if (nameAllowed(host) || isLiteral(host)) {
            return null;
        }
        InetAddress[] addresses;
        try {
            addresses = InetAddress.getAllByName(host);
        } catch (UnknownHostException e) {
            return null; // the request itself fails with a clear "unknown host"; nothing internal was reached
        }
        for (InetAddress a : addresses) {
            String p = addressProblem(a);
            if (p != null) {
                return "resolves to " + p;
            }
        }
        return null;
    }

    private String addressProblem(InetAddress address) {
        InetAddress a = unmapped(address);
        for (AddressRange r : allowedRanges) {
            if (r.contains(a)) {
                return null;
            }
        }
        for (AddressRange r : INTERNAL) {
            if (r.contains(a)) {
                return "an internal address (" + kind(a) + ", in " + r + ")";
            }
        }
        for (AddressRange r : extraDenied) {
            if (r.contains(a)) {
                return "an internal address (cluster range " + r + ")";
            }
        }
        return null;
    }

    private static String kind(InetAddress a) {
        if (a.isLoopbackAddress()) {
            return "loopback";
        }
        if (a.isLinkLocalAddress()) {
            return "link-local, cloud metadata lives here";
        }
        if (a.isAnyLocalAddress()) {
            return "unspecified";
        }
        if (a.isMulticastAddress()) {
            return "multicast";
        }
        return "private or reserved";
    }

    /** ::ffff:10.0.0.1 is 10.0.0.1. */
    private static InetAddress unmapped(InetAddress a) {
        byte[] b = a.getAddress();
        if (a instanceof Inet6Address && b.length == 16) {
            boolean mapped = true;
            for (int i = 0; i < 10; i++) {
                mapped &= b[i] == 0;
            }
            if (mapped && b[10] == (byte) 0xff && b[11] == (byte) 0xff) {
                try {
                    return InetAddress.getByAddress(new byte[] {b[12], b[13], b[14], b[15]});
                } catch (UnknownHostException impossible) {
                    return a;
                }
            }
        }
        return a;
    }

    private boolean nameAllowed(String host) {
        for (String n : allowedNames) {
            if (n.startsWith("*.") ? host.endsWith(n.substring(1)) : host.equals(n)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isLiteral(String host) {
        return host.contains(":") || host.matches("[0-9.]+");
    }

    /** Lower-case host without IPv6 brackets and without a trailing dot ("localhost." is localhost). */
    private static String host(URI uri) {
        String h = uri.getHost();
        if (h == null) {
            return null;
        }
        h = h.toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        while (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        return h;
    }
}
