package io.dstack.vpn.api.text;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SafeTextTest {

    @Test
    void urlsLoseUserInfoPathAndQuery() {
        String m = SafeText.message("dial https://user:pa55@rpc.example.com:8545/v2/SECRET?key=SECRET2 failed; "
                + "also http://[::1]:9/KEY and wss://base.example/ws/SECRET3");
        assertThat(m).doesNotContain("SECRET").doesNotContain("pa55").doesNotContain("user")
                .contains("https://rpc.example.com:8545 failed").contains("http://[::1]:9").contains("wss://base.example");
    }

    @Test
    void controlAndNonAsciiCharactersAreReplaced() {
        assertThat(SafeText.message("a\nb\u0000c\u001b[31md\u202eé")).isEqualTo("a?b?c?[31md??");
    }

    @Test
    void longTextIsCutAndSaysHowLongItWas() {
        String huge = "x".repeat(100_000_000 / 100);
        String m = SafeText.message(huge);
        assertThat(m).hasSizeLessThanOrEqualTo(SafeText.MAX_MESSAGE).endsWith("... (1000000 characters)");
    }

    @Test
    void shortCleanTextIsUnchanged() {
        assertThat(SafeText.message("block 12 not found")).isEqualTo("block 12 not found");
        assertThat(SafeText.message(null)).isNull();
        String once = SafeText.message("y".repeat(2000));
        assertThat(SafeText.message(once)).isEqualTo(once);
    }
}
