package io.dstack.vpn.api.v1alpha1;

/** CEL rules and their messages, shared by every field that holds the same kind of value. */
public final class ApiPatterns {
    /** 32 bytes in base64: 43 characters and '=', the last character carrying only 4 bits. */
    public static final String WG_KEY_REGEX = "^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$";
    public static final String WG_KEY_RULE = "self.matches('" + WG_KEY_REGEX + "')";
    public static final String WG_KEY_MESSAGE =
            "must be a WireGuard public key: 32 bytes in base64, 44 characters ending in '=' (the output of 'wg pubkey')";

    public static final String NODE_ID_REGEX = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";
    public static final String NODE_ID_RULE = "self.matches('" + NODE_ID_REGEX + "')";
    public static final String NODE_ID_MESSAGE =
            "must be a node id: a DNS-1123 label of lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";

    /** host:port with a DNS name, an IPv4 address or a bracketed IPv6 address. */
    public static final String ENDPOINT_RULE =
            "self.matches('^([A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?|\\\\[[0-9A-Fa-f:.]+\\\\]):[0-9]{1,5}$') && int(self.substring(self.lastIndexOf(':') + 1)) >= 1 && int(self.substring(self.lastIndexOf(':') + 1)) <= 65535";
    public static final String ENDPOINT_MESSAGE =
            "must be host:port (a DNS name, an IPv4 address or [IPv6]) with a port from 1 to 65535, e.g. 203.0.113.7:51820";

    public static final String DNS_SUBDOMAIN_RULE =
            "self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')";

    private ApiPatterns() {
    }
}
