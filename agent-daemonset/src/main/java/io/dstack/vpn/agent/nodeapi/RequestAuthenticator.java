package io.dstack.vpn.agent.nodeapi;

import java.util.Base64;
import java.util.Optional;
import java.util.regex.Pattern;

import io.dstack.vpn.api.v1alpha1.ApiPatterns;
import io.dstack.vpn.api.wireguard.WireGuardKey;

/**
 * Checks one request's proof (ADR 0015), cheapest first: well-formed headers, a genuine fresh nonce, a node id the
 * peer set lists (so unknown ids cost no Diffie-Hellman), the key it lists, the request MAC under {@code K} (current
 * server key, then the previous one during a rotation), and last the nonce's single use, so that only authenticated
 * requests use nonces up.
 */
final class RequestAuthenticator {
    static final String NODE_HEADER = "X-Dvpn-Node";
    static final String KEY_HEADER = "X-Dvpn-Key";
    static final String NONCE_HEADER = "X-Dvpn-Nonce";
    static final String MAC_HEADER = "X-Dvpn-Mac";
    static final Pattern NODE_ID = Pattern.compile(ApiPatterns.NODE_ID_REGEX);

    /** A request that proved the key the peer set lists for its node id. */
    record Proven(String nodeId, WireGuardKey nodeKey, byte[] k, byte[] nonce) {
    }

    /** Exactly one of the two is set. */
    record Outcome(Proven proven, Refusal refusal) {
        static Outcome refused(Refusal r) {
            return new Outcome(null, r);
        }
    }

    private final String namespace;
    private final DerivedKeys keys;
    private final NonceIssuer nonces;

    RequestAuthenticator(String namespace, DerivedKeys keys, NonceIssuer nonces) {
        this.namespace = namespace;
        this.keys = keys;
        this.nonces = nonces;
    }

    Outcome authenticate(BoundedHttpServer.Request request, String network, PeerSetSnapshot snapshot) {
        String nodeId = request.header(NODE_HEADER);
        if (nodeId == null || !NODE_ID.matcher(nodeId).matches()) {
            return Outcome.refused(badHeader(NODE_HEADER, "a node id"));
        }
        WireGuardKey claimed;
        try {
            claimed = WireGuardKey.parse(request.header(KEY_HEADER));
        } catch (IllegalArgumentException e) {
            return Outcome.refused(badHeader(KEY_HEADER, "the node's WireGuard public key in base64"));
        }
        byte[] nonce = decode(request.header(NONCE_HEADER), NonceIssuer.LENGTH);
        if (nonce == null) {
            return Outcome.refused(badHeader(NONCE_HEADER, "a nonce from the node API in base64"));
        }
        byte[] mac = decode(request.header(MAC_HEADER), NodeAuth.MAC_LENGTH);
        if (mac == null) {
            return Outcome.refused(badHeader(MAC_HEADER, "a 32-byte HMAC in base64"));
        }
        if (!nonces.fresh(nonce)) {
            return Outcome.refused(Refusal.forbidden(Refusal.STALE_NONCE, "the nonce is not one of ours or has expired: fetch a new one"));
        }
        Optional<String> listed = snapshot.publicKeyOf(nodeId);
        if (listed.isEmpty()) {
            return Outcome.refused(Refusal.forbidden(Refusal.NOT_A_MEMBER,
                    "node " + nodeId + " is not in the peer set of network " + network + " (not admitted yet, suspended or revoked)"));
        }
        if (!WireGuardKey.isValid(listed.get()) || !WireGuardKey.parse(listed.get()).equals(claimed)) {
            return Outcome.refused(Refusal.forbidden(Refusal.KEY_MISMATCH,
                    "the peer set of network " + network + " lists another public key for node " + nodeId));
        }
        byte[] bodyHash = NodeAuth.sha256(request.body());
        for (int which = 0; which < keys.serverKeys(); which++) {
            byte[] k;
            try {
                k = keys.key(which, network, nodeId, claimed);
            } catch (IllegalArgumentException lowOrder) {
                break;
            }
            byte[] expected = NodeAuth.requestMac(k, request.method(), request.path(), request.query(), bodyHash, nonce, namespace, network, nodeId);
            if (NodeAuth.macEquals(expected, mac)) {
                // Refusals past this point are not MACed: a replay must not earn a second MACed answer to one nonce.
                return switch (nonces.consume(nonce)) {
                    case ACCEPTED -> new Outcome(new Proven(nodeId, claimed, k, nonce), null);
                    case STALE -> Outcome.refused(Refusal.forbidden(Refusal.STALE_NONCE, "the nonce was used already: fetch a new one"));
                    case BUSY -> Outcome.refused(new Refusal(503, Refusal.BUSY, "too many requests in flight; try again"));
                };
            }
        }
        return Outcome.refused(Refusal.forbidden(Refusal.BAD_PROOF,
                "the request MAC does not verify: wrong node key, wrong node-API key in the bundle, or the request was altered"));
    }

    private static Refusal badHeader(String header, String what) {
        return new Refusal(400, Refusal.BAD_REQUEST, "header " + header + " is missing or malformed: it must hold " + what);
    }

    /** Base64 of exactly {@code length} bytes; null otherwise. */
    static byte[] decode(String base64, int length) {
        if (base64 == null || base64.length() > 4 * ((length + 2) / 3)) {
            return null;
        }
        try {
            byte[] b = Base64.getDecoder().decode(base64);
            return b.length == length ? b : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
