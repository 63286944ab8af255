package io.dstack.vpn.agent.dns;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The DNS responder's settings, from the agent's environment (ADR 0016).
 *
 * @param bind      address to listen on (UDP and TCP); null = no DNS at all ({@code DNS_BIND=off} or empty)
 * @param port      {@code DNS_PORT}
 * @param domain    {@code DNS_DOMAIN}: names are {@code <nodeId>.<network>.<domain>}
 * @param ttl       {@code DNS_TTL_SECONDS}: of answers and of negative answers
 * @param allowFrom {@code DNS_ALLOW_FROM}: comma-separated CIDRs that may ask, besides the overlay range
 */
public record DnsConfig(String bind, int port, String domain, int ttl, String allowFrom) {
    public static final String DEFAULT_DOMAIN = "vpn.internal";
    /** Unprivileged, not 53 (a node's own resolver may hold it) and not 5353 (mDNS, which avahi listens on). */
    public static final int DEFAULT_PORT = 1053;
    public static final int DEFAULT_TTL = 5;
    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

    public static DnsConfig fromEnv(Map<String, String> env) {
        // The fake memory device of scale tests has no overlay to name, and many such agents share one host.
        String bind = env.getOrDefault("DNS_BIND", "memory".equals(env.get("WG_BACKEND")) ? "off" : "0.0.0.0").strip();
        if (bind.isEmpty() || bind.equalsIgnoreCase("off")) {
            bind = null;
        }
        int port = integer(env, "DNS_PORT", DEFAULT_PORT, 1, 65535);
        int ttl = integer(env, "DNS_TTL_SECONDS", DEFAULT_TTL, 0, 3600);
        String domain = env.getOrDefault("DNS_DOMAIN", DEFAULT_DOMAIN);
        labels("DNS_DOMAIN", domain);
        String allowFrom = env.getOrDefault("DNS_ALLOW_FROM", SourceFilter.DEFAULT);
        try {
            SourceFilter.parse(allowFrom);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("DNS_ALLOW_FROM: " + e.getMessage());
        }
        DnsConfig config = new DnsConfig(bind, port, domain.strip().toLowerCase(Locale.ROOT).replaceFirst("\\.$", ""), ttl, allowFrom);
        if (config.enabled() && env.get("NETWORK") != null) {
            config.origin(env.get("NETWORK")); // fails now, not at the first query, when the names cannot exist
        }
        return config;
    }

    public boolean enabled() {
        return bind != null;
    }

    /**
     * The zone's apex {@code <network>.<domain>} as lower-case labels. Room is left for a 63-byte node id in front of
     * it, so every possible name still fits the 255 bytes of a DNS name.
     */
    List<String> origin(String network) {
        List<String> out = new ArrayList<>(labels("NETWORK", network));
        out.addAll(labels("DNS_DOMAIN", domain));
        int wire = 1;
        for (String l : out) {
            wire += 1 + l.length();
        }
        if (wire + 64 > DnsMessage.MAX_NAME_LENGTH) {
            throw new IllegalArgumentException("<network>.<domain> '" + network + "." + domain + "' is too long for DNS names "
                    + "<nodeId>.<network>.<domain> (at most " + (DnsMessage.MAX_NAME_LENGTH - 64 - 2) + " characters)");
        }
        return out;
    }

    /** A name's labels, lower-cased, each a DNS label (letters, digits, '-'); throws IllegalArgumentException naming {@code what}. */
    private static List<String> labels(String what, String name) {
        String n = name == null ? "" : name.strip().toLowerCase(Locale.ROOT);
        if (n.endsWith(".")) {
            n = n.substring(0, n.length() - 1);
        }
        List<String> out = new ArrayList<>();
        for (String label : n.split("\\.", -1)) {
            if (!LABEL.matcher(label).matches()) {
                throw new IllegalArgumentException(what + " must be a DNS name (labels of letters, digits and '-', 1 to 63 each): '"
                        + name + "'");
            }
            out.add(label);
        }
        return out;
    }

    private static int integer(Map<String, String> env, String name, int dflt, int min, int max) {
        String v = env.get(name);
        if (v == null || v.isBlank()) {
            return dflt;
        }
        try {
            int i = Integer.parseInt(v.strip());
            if (i >= min && i <= max) {
                return i;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(name + " must be a whole number from " + min + " to " + max + ", not '" + v + "'");
    }
}
