package io.dstack.vpn.api.wireguard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class WireGuardKeyTest {

    /** Pairs made by wireguard-tools ('wg genkey', 'wg pubkey'), including one unclamped private key. */
    static List<String[]> vectors() throws IOException {
        try (InputStream in = WireGuardKeyTest.class.getResourceAsStream("/wg-vectors.txt")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.isBlank() && !l.startsWith("#"))
                    .map(l -> l.split(" "))
                    .toList();
        }
    }

    static java.util.stream.Stream<Arguments> vectorArguments() throws IOException {
        return vectors().stream().map(p -> Arguments.of(p[0], p[1]));
    }

    @ParameterizedTest
    @MethodSource("vectorArguments")
    void publicKeyMatchesWgPubkeyByteForByte(String privateKey, String expectedPublic) {
        assertThat(WireGuardKey.parse(privateKey).publicKey().toBase64()).isEqualTo(expectedPublic);
    }

    /**
     * X25519 clamps the scalar, so the bits 'wg genkey' clamps cannot change the public key: flipping them in
     * every vector still gives the public key wireguard-tools printed. A one-bit change elsewhere must not.
     */
    @ParameterizedTest
    @MethodSource("vectorArguments")
    void onlyTheClampedBitsAreIgnored(String privateKey, String expectedPublic) {
        byte[] raw = WireGuardKey.parse(privateKey).toBytes();
        byte[] clampFlipped = raw.clone();
        clampFlipped[0] ^= 7;
        clampFlipped[31] ^= (byte) 0xc0;
        assertThat(WireGuardKey.fromBytes(clampFlipped).publicKey().toBase64()).isEqualTo(expectedPublic);
        byte[] otherScalar = raw.clone();
        otherScalar[0] ^= 8;
        assertThat(WireGuardKey.fromBytes(otherScalar).publicKey().toBase64()).isNotEqualTo(expectedPublic);
    }

    @Test
    void generatedKeysAreClampedAndDistinct() {
        WireGuardKey a = WireGuardKey.generatePrivate();
        WireGuardKey b = WireGuardKey.generatePrivate();
        byte[] raw = a.toBytes();
        assertThat(raw[0] & 7).isZero();
        assertThat(raw[31] & 0x80).isZero();
        assertThat(raw[31] & 0x40).isEqualTo(0x40);
        assertThat(a).isNotEqualTo(b);
        assertThat(a.publicKey()).isNotEqualTo(b.publicKey());
    }

    @Test
    void roundTripsThroughBase64AndHex() {
        WireGuardKey k = WireGuardKey.generatePrivate().publicKey();
        assertThat(WireGuardKey.parse(k.toBase64())).isEqualTo(k);
        assertThat(k.toHex()).hasSize(64).matches("[0-9a-f]+");
        assertThat(WireGuardKey.fromBytes(k.toBytes())).isEqualTo(k);
    }

    @Test
    void toStringNeverShowsKeyMaterial() {
        WireGuardKey k = WireGuardKey.generatePrivate();
        assertThat(k.toString()).doesNotContain(k.toBase64()).doesNotContain(k.toHex()).contains("redacted");
    }

    static final String GOOD = "hHwNLDdSNPNl5mCVUYejc1oPdhPRYJ06ak2MU66qWiI=";

    /** Each malformed key with the reason the parser must give for it. */
    static java.util.stream.Stream<Arguments> malformedKeys() {
        return java.util.stream.Stream.of(
                Arguments.of(null, "missing"),
                Arguments.of("", "44 base64 characters"),
                Arguments.of("abc", "44 base64 characters"),
                Arguments.of(GOOD.substring(0, 43), "44 base64 characters"),
                Arguments.of(GOOD + "=", "44 base64 characters"),
                Arguments.of(WireGuardKey.parse(GOOD).toHex(), "44 base64 characters"),
                Arguments.of(GOOD.substring(0, 42) + "==", "must decode to 32 bytes"),
                Arguments.of(GOOD.substring(0, 42) + "J=", "canonical base64"),
                Arguments.of("!" + GOOD.substring(1), "not valid base64"),
                Arguments.of("-" + GOOD.substring(1), "not valid base64"), // URL-safe alphabet: not what wg prints
                Arguments.of(GOOD.substring(0, 20) + " " + GOOD.substring(21), "not valid base64"));
    }

    @ParameterizedTest
    @MethodSource("malformedKeys")
    void rejectsMalformedKeysWithTheReasonAndWithoutEchoingThem(String bad, String reason) {
        assertThat(WireGuardKey.isValid(bad)).isFalse();
        assertThatThrownBy(() -> WireGuardKey.parse(bad))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(reason)
                .satisfies(e -> {
                    if (bad != null && !bad.isEmpty()) {
                        assertThat(e.getMessage()).doesNotContain(bad);
                    }
                });
    }

    @Test
    void theUnalteredKeyBehindTheMalformedOnesIsValid() {
        // The cases above are rejected for what was changed, not because the key they start from is bad.
        assertThat(WireGuardKey.isValid(GOOD)).isTrue();
        assertThat(WireGuardKey.isValid(" " + GOOD + "\n")).isTrue(); // surrounding whitespace, as from 'wg pubkey'
    }
}
