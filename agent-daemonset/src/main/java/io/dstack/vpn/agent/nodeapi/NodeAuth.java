package io.dstack.vpn.agent.nodeapi;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.spec.NamedParameterSpec;
import java.security.spec.XECPrivateKeySpec;
import java.security.spec.XECPublicKeySpec;

import javax.crypto.KeyAgreement;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import io.dstack.vpn.api.wireguard.WireGuardKey;

/**
 * The node API's proof (ADR 0015): a static X25519 Diffie-Hellman between the node's WireGuard key and the node
 * API's key, HKDF-SHA256 to a per-node MAC key {@code K}, and HMAC-SHA256 over each request and response. JDK
 * primitives only. Every variable-length input is length-prefixed ({@link #field}), so no two different inputs
 * encode to the same bytes.
 */
public final class NodeAuth {
    /** HKDF salt: names the protocol and its version. */
    static final byte[] SALT = ascii("dstack-vpn node-api v1");
    /** Domain labels: a request MAC can never pass as a response MAC, nor a key for one purpose as another. */
    static final String REQUEST_LABEL = "dstack-vpn node-api v1 request";
    static final String RESPONSE_LABEL = "dstack-vpn node-api v1 response";
    public static final int KEY_LENGTH = 32;
    public static final int MAC_LENGTH = 32;

    /** 2^255 - 19, the field prime of Curve25519. */
    private static final BigInteger P = BigInteger.ONE.shiftLeft(255).subtract(BigInteger.valueOf(19));

    /**
     * {@code K} for one node, namespace and network. The node calls it with its private key and the pinned server
     * key; the server with its private key and the key the peer set lists for the node: both get the same bytes.
     *
     * @throws IllegalArgumentException when the public key has low order (the shared secret would be all zeros,
     *                                  known to anyone)
     */
    public static byte[] deriveKey(WireGuardKey ownPrivate, WireGuardKey peerPublic, String namespace, String network, String nodeId,
            WireGuardKey nodePublic, WireGuardKey serverPublic) {
        byte[] shared = x25519(ownPrivate, peerPublic);
        byte[] info = concat(field(utf8(namespace)), field(utf8(network)), field(utf8(nodeId)),
                field(nodePublic.toBytes()), field(serverPublic.toBytes()));
        return Hkdf.sha256(SALT, shared, info, KEY_LENGTH);
    }

    /**
     * X25519(private, public) as RFC 7748 defines it: the scalar clamped (as WireGuard does), the u-coordinate read
     * little-endian with its top bit masked and reduced modulo p.
     *
     * @throws IllegalArgumentException when the result is all zeros (a low-order public key)
     */
    public static byte[] x25519(WireGuardKey privateKey, WireGuardKey publicKey) {
        byte[] scalar = privateKey.toBytes();
        scalar[0] &= (byte) 248;
        scalar[31] = (byte) ((scalar[31] & 127) | 64);
        byte[] uBytes = publicKey.toBytes();
        uBytes[31] &= 127;
        BigInteger u = new BigInteger(1, reverse(uBytes)).mod(P);
        byte[] shared;
        try {
            KeyFactory factory = KeyFactory.getInstance("XDH");
            KeyAgreement agreement = KeyAgreement.getInstance("XDH");
            agreement.init(factory.generatePrivate(new XECPrivateKeySpec(NamedParameterSpec.X25519, scalar)));
            agreement.doPhase(factory.generatePublic(new XECPublicKeySpec(NamedParameterSpec.X25519, u)), true);
            shared = agreement.generateSecret();
        } catch (InvalidKeyException e) {
            // The JDK refuses a small-order point itself ("Point has small order"); same answer as below.
            throw new IllegalArgumentException("the public key has low order");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("X25519 is not available in this JDK", e);
        } finally {
            java.util.Arrays.fill(scalar, (byte) 0);
        }
        if (allZero(shared)) {
            throw new IllegalArgumentException("the public key has low order");
        }
        return shared;
    }

    /**
     * HMAC-SHA256(K, field(label) ‖ field(method) ‖ field(path) ‖ field(query) ‖ field(SHA-256(body)) ‖ field(nonce)
     * ‖ field(namespace) ‖ field(network) ‖ field(nodeId)). {@code path} is the API path from {@code /v1} as the
     * server receives it, {@code query} the raw query without '?' (empty when there is none).
     */
    public static byte[] requestMac(byte[] k, String method, String path, String query, byte[] bodySha256, byte[] nonce,
            String namespace, String network, String nodeId) {
        return hmac(k, concat(field(ascii(REQUEST_LABEL)), field(utf8(method)), field(utf8(path)), field(utf8(query == null ? "" : query)),
                field(bodySha256), field(nonce), field(utf8(namespace)), field(utf8(network)), field(utf8(nodeId))));
    }

    /**
     * HMAC-SHA256(K, field(label) ‖ field(status as ASCII digits) ‖ field(request nonce) ‖ field(SHA-256(response body))).
     * The status is covered so that an authenticated refusal cannot be passed off as a success with the same body.
     */
    public static byte[] responseMac(byte[] k, int status, byte[] requestNonce, byte[] bodySha256) {
        return hmac(k, concat(field(ascii(RESPONSE_LABEL)), field(ascii(Integer.toString(status))), field(requestNonce), field(bodySha256)));
    }

    /** Constant-time comparison of two MACs. */
    public static boolean macEquals(byte[] expected, byte[] received) {
        return received != null && MessageDigest.isEqual(expected, received);
    }

    public static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] hmac(byte[] key, byte[] data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JDK", e);
        }
    }

    /** A 4-byte big-endian length, then the bytes. */
    static byte[] field(byte[] value) {
        byte[] out = new byte[4 + value.length];
        out[0] = (byte) (value.length >>> 24);
        out[1] = (byte) (value.length >>> 16);
        out[2] = (byte) (value.length >>> 8);
        out[3] = (byte) value.length;
        System.arraycopy(value, 0, out, 4, value.length);
        return out;
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static byte[] reverse(byte[] b) {
        byte[] r = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            r[i] = b[b.length - 1 - i];
        }
        return r;
    }

    private static boolean allZero(byte[] b) {
        int acc = 0;
        for (byte x : b) {
            acc |= x;
        }
        return acc == 0;
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private NodeAuth() {
    }
}
