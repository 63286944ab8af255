package io.dstack.vpn.operator.chain;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.dstack.vpn.api.v1alpha1.ChainAccess;

class GrantConfirmationsTest {

    static Stream<Arguments> cases() {
        Duration twoSeconds = Duration.ofSeconds(2);
        Duration fifth = Duration.ofMillis(200);
        return Stream.of(
                // spec blocks, spec time, observed block time, blocks needed
                Arguments.of("nothing set: 4 s on a 2 s chain", null, null, twoSeconds, 2L),
                Arguments.of("nothing set: 4 s on a 200 ms chain", null, null, fifth, 20L),
                Arguments.of("nothing set, block time unknown: the shortest plausible block", null, null, null, 40L),
                Arguments.of("blocks only (specs written before the time field)", 2, null, fifth, 2L),
                Arguments.of("blocks 0: at first sight", 0, null, twoSeconds, 0L),
                Arguments.of("time only, rounded up to whole blocks", null, "5s", twoSeconds, 3L),
                Arguments.of("time 0 with no blocks: at first sight", null, "0s", fifth, 0L),
                Arguments.of("both: the time wins when it asks more", 2, "4s", fifth, 20L),
                Arguments.of("both: the blocks win when they ask more", 10, "4s", twoSeconds, 10L),
                Arguments.of("a zero estimate counts as unknown", null, "1s", Duration.ZERO, 10L),
                Arguments.of("sub-block time still needs one block", null, "100ms", twoSeconds, 1L));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void blocksNeeded(String name, Integer blocks, String time, Duration observed, long expected) {
        ChainAccess chain = new ChainAccess();
        chain.grantConfirmations = blocks;
        chain.grantConfirmationTime = time;
        assertThat(GrantConfirmations.of(chain).blocksNeeded(observed)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void theExplanationNamesWhatDecided(String name, Integer blocks, String time, Duration observed, long expected) {
        ChainAccess chain = new ChainAccess();
        chain.grantConfirmations = blocks;
        chain.grantConfirmationTime = time;
        String text = GrantConfirmations.of(chain).explain(observed);
        if (time == null && blocks != null) {
            assertThat(text).isEqualTo("grantConfirmations " + blocks);
        } else if (!"0s".equals(time)) {
            assertThat(text).contains("grantConfirmationTime").contains(observed == null || observed.isZero() ? "unknown" : "observed");
        }
    }
}
