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
import org.junit.jupiter.params.provider.ValueSource;

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

    @Test
    void vectorsCoverSeveralKeys() throws IOException {
        assertThat(vectors()).hasSizeGreaterThanOrEqualTo(5);
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

    @ParameterizedTest
    @ValueSource(strings = {"", "abc", "hHwNLDdSNPNl5mCVUYejc1oPdhPRYJ06ak2MU66qWiI", "hHwNLDdSNPNl5mCVUYejc1oPdhPRYJ06ak2MU66qWi==",
            "hHwNLDdSNPNl5mCVUYejc1oPdhPRYJ06ak2MU66qWiJ=", "!HwNLDdSNPNl5mCVUYejc1oPdhPRYJ06ak2MU66qWiI="})
    void rejectsMalformedKeysWithoutEchoingThem(String bad) {
        assertThat(WireGuardKey.isValid(bad)).isFalse();
        assertThatThrownBy(() -> WireGuardKey.parse(bad))
                .isInstanceOf(IllegalArgumentException.class)
                .satisfies(e -> {
                    if (!bad.isEmpty()) {
                        assertThat(e.getMessage()).doesNotContain(bad);
                    }
                });
    }
}
