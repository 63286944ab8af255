package io.dstack.vpn.chain.follower;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The resync's bookkeeping on its own; {@link ScriptedFollowerTest} drives it through the follower. */
class ResyncRangeTest {

    @Test
    void withoutABlockWhereEveryTokenWasReadTheResyncReadsEveryToken() {
        ResyncRange range = new ResyncRange();
        range.begin();
        assertThat(range.full()).isTrue();
        assertThat(range.goesOn()).as("a full read that failed waits for the next interval").isFalse();

        range.count(7, 1);
        range.everyTokenReadAt(40);

        assertThat(range.full()).isFalse();
        assertThat(range.from()).isEqualTo(41);
        assertThat(range.finishedAt(40)).isEqualTo(new ResyncRange.Totals(7, 1));
        assertThat(range.finishedAt(40)).as("reported once").isNull();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            // case,                                  read through, rewound to, next from
            "below the resync: read again from there, 10,           7,          8",
            "above it: nothing skipped,               10,           12,         11",
            "before block 0,                          10,           -1,         0",
    })
    void aRewindTakesTheRangeBackNeverForward(String name, long through, long ancestor, long from) {
        ResyncRange range = new ResyncRange();
        range.everyTokenReadAt(through);
        range.rewoundTo(ancestor);
        assertThat(range.from()).isEqualTo(from);
    }

    @Test
    void aResyncOfLogsGoesOnUntilItReachesTheCheckpoint() {
        ResyncRange range = new ResyncRange();
        range.everyTokenReadAt(10);
        range.begin();
        range.count(1, 1);
        range.logsReadThrough(14);

        assertThat(range.finishedAt(20)).isNull();
        assertThat(range.goesOn()).isTrue();

        range.count(2, 0);
        range.logsReadThrough(21);
        assertThat(range.finishedAt(21)).isEqualTo(new ResyncRange.Totals(3, 1));
        assertThat(range.goesOn()).isFalse();
    }

    @Test
    void oneResyncInTwelveReadsEveryToken() {
        ResyncRange range = new ResyncRange();
        range.everyTokenReadAt(0);
        for (int i = 1; i < ResyncRange.FULL_EVERY; i++) {
            range.begin();
            assertThat(range.full()).as("resync %d", i).isFalse();
            range.logsReadThrough(i);
            assertThat(range.finishedAt(i)).isNotNull();
        }
        range.begin();
        assertThat(range.full()).isTrue();
    }
}
