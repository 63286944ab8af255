package io.dstack.vpn.agent.nodeapi;

import java.io.ByteArrayOutputStream;

/** HKDF (RFC 5869) with HMAC-SHA256: extract, then expand. The JDK 21 we target has no HKDF of its own. */
final class Hkdf {
    private static final int HASH_LENGTH = 32;

    static byte[] sha256(byte[] salt, byte[] ikm, byte[] info, int length) {
        if (length <= 0 || length > 255 * HASH_LENGTH) {
            throw new IllegalArgumentException("HKDF-SHA256 output must be 1 to " + 255 * HASH_LENGTH + " bytes");
        }
        return expand(extract(salt, ikm), info, length);
    }

    /** PRK = HMAC-Hash(salt, IKM); an absent salt is HashLen zeros. */
    static byte[] extract(byte[] salt, byte[] ikm) {
        return NodeAuth.hmac(salt == null || salt.length == 0 ? new byte[HASH_LENGTH] : salt, ikm);
    }

    /** T(i) = HMAC-Hash(PRK, T(i-1) ‖ info ‖ i), OKM = the first {@code length} bytes of T(1) ‖ T(2) ‖ … */
    static byte[] expand(byte[] prk, byte[] info, int length) {
        ByteArrayOutputStream okm = new ByteArrayOutputStream();
        byte[] t = new byte[0];
        for (int i = 1; okm.size() < length; i++) {
            t = NodeAuth.hmac(prk, NodeAuth.concat(t, info, new byte[] {(byte) i}));
            okm.writeBytes(t);
        }
        byte[] out = okm.toByteArray();
        return out.length == length ? out : java.util.Arrays.copyOf(out, length);
    }

    private Hkdf() {
    }
}
