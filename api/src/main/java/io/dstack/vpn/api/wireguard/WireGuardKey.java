package io.dstack.vpn.api.wireguard;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.spec.NamedParameterSpec;
import java.security.spec.XECPrivateKeySpec;
import java.security.spec.XECPublicKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;

import javax.crypto.KeyAgreement;

/**
 * A 32-byte Curve25519 key as WireGuard prints it (base64). {@link #toString()} never shows the bytes, so a
 * private key that ends up in a log line or an exception message reveals nothing; use {@link #toBase64()}
 * deliberately where the encoded form is wanted.
 */
public final class WireGuardKey {
    public static final int LENGTH = 32;
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final BigInteger BASE_POINT_U = BigInteger.valueOf(9);

    private final byte[] bytes;

    private WireGuardKey(byte[] bytes) {
        this.bytes = bytes;
    }

    /** Parses the base64 form ('wg genkey' / 'wg pubkey' output). The message never echoes the input. */
    public static WireGuardKey parse(String base64) {
        if (base64 == null) {
            throw new IllegalArgumentException("WireGuard key is missing");
        }
        String trimmed = base64.strip();
        if (trimmed.length() != 44 || !trimmed.endsWith("=")) {
            throw new IllegalArgumentException(
                    "WireGuard key must be 44 base64 characters ending in '=' (got " + trimmed.length() + " characters)");
        }
        byte[] decoded;
        try {
            decoded = Base64.getDecoder().decode(trimmed);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("WireGuard key is not valid base64");
        }
        if (decoded.length != LENGTH) {
            throw new IllegalArgumentException("WireGuard key must decode to 32 bytes (got " + decoded.length + ")");
        }
        if (!Base64.getEncoder().encodeToString(decoded).equals(trimmed)) {
            // Non-canonical padding bits: two strings would name one key; refuse so comparisons stay exact.
            throw new IllegalArgumentException("WireGuard key is not in canonical base64");
        }
        return new WireGuardKey(decoded);
    }

    public static boolean isValid(String base64) {
        try {
            parse(base64);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    public static WireGuardKey fromBytes(byte[] raw) {
        if (raw == null || raw.length != LENGTH) {
            throw new IllegalArgumentException("WireGuard key must be 32 bytes");
        }
        return new WireGuardKey(raw.clone());
    }

    /** A new private key, clamped as 'wg genkey' clamps it. */
    public static WireGuardKey generatePrivate() {
        byte[] k = new byte[LENGTH];
        RANDOM.nextBytes(k);
        k[0] &= (byte) 248;
        k[31] = (byte) ((k[31] & 127) | 64);
        return new WireGuardKey(k);
    }

    /** The public key of this private key: X25519(private, 9), byte for byte what 'wg pubkey' prints. */
    public WireGuardKey publicKey() {
        try {
            KeyFactory factory = KeyFactory.getInstance("XDH");
            var privateKey = factory.generatePrivate(new XECPrivateKeySpec(NamedParameterSpec.X25519, bytes.clone()));
            var basePoint = factory.generatePublic(new XECPublicKeySpec(NamedParameterSpec.X25519, BASE_POINT_U));
            KeyAgreement agreement = KeyAgreement.getInstance("XDH");
            agreement.init(privateKey);
            agreement.doPhase(basePoint, true);
            return new WireGuardKey(agreement.generateSecret());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("X25519 is not available in this JDK", e);
        }
    }

    public String toBase64() {
        return Base64.getEncoder().encodeToString(bytes);
    }

    /** Lowercase hex, the form the WireGuard UAPI protocol uses. */
    public String toHex() {
        StringBuilder sb = new StringBuilder(LENGTH * 2);
        for (byte b : bytes) {
            sb.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
        }
        return sb.toString();
    }

    public byte[] toBytes() {
        return bytes.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WireGuardKey other && MessageDigest.isEqual(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    /** Deliberately opaque: keys must not leak through logs or messages by accident. */
    @Override
    public String toString() {
        return "WireGuardKey[redacted]";
    }

}
