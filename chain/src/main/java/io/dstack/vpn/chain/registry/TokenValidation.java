package io.dstack.vpn.chain.registry;

import java.util.regex.Pattern;

import io.dstack.vpn.api.wireguard.WireGuardKey;

/** Chain data is untrusted: a token is usable only with a DNS-safe node id and a real WireGuard key. */
public final class TokenValidation {
    private static final Pattern NODE_ID = Pattern.compile("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$");

    /** The reason the data is unusable, or null. Never echoes long input back. */
    public static String problem(String nodeId, String publicKey) {
        if (nodeId == null || !NODE_ID.matcher(nodeId).matches()) {
            return "node id " + shown(nodeId) + " is not a DNS-1123 label (lowercase letters, digits, '-', at most 63)";
        }
        if (!WireGuardKey.isValid(publicKey)) {
            return "key " + shown(publicKey) + " is not a WireGuard public key (32 bytes of base64)";
        }
        return null;
    }

    static String shown(String s) {
        if (s == null) {
            return "(missing)";
        }
        String printable = s.codePoints().allMatch(c -> c >= 0x20 && c < 0x7f) ? s : "(non-printable)";
        return printable.length() > 64 ? "'" + printable.substring(0, 64) + "…' (" + s.length() + " characters)" : "'" + printable + "'";
    }

    private TokenValidation() {
    }
}
