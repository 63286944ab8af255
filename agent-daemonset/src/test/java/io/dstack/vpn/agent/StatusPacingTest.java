package io.dstack.vpn.agent;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class StatusPacingTest {
    /** "Random" = the bound itself, so the table shows the spread each case gets. */
    private final StatusPacing pacing = new StatusPacing(30_000, 5_000, bound -> bound);

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', nullValues = "null", value = {
            // case                                      | now    | gen | ok    | peers  | last gen | last ok | last write | kind  | delay
            "first report                                | 1000   | 1   | true  | 1000   | -1       | null    | 0          | NOW   | 0",
            "new generation, 1,000 peers: up to 1 s      | 1000   | 2   | true  | 1000   | 1        | true    | 900        | LATER | 1000",
            "new generation, 10 peers: up to 10 ms       | 1000   | 2   | true  | 10     | 1        | true    | 900        | LATER | 10",
            "new generation, 10,000 peers: capped at 5 s | 1000   | 2   | true  | 10000  | 1        | true    | 900        | LATER | 5000",
            "new generation, no peers: at once           | 1000   | 2   | true  | 0      | 1        | true    | 900        | NOW   | 0",
            "a failure is news                           | 1000   | 1   | false | 1000   | 1        | true    | 900        | NOW   | 0",
            "a recovery is news                          | 1000   | 2   | true  | 1000   | 1        | false   | 900        | NOW   | 0",
            "a failure of a new generation               | 1000   | 2   | false | 1000   | 1        | false   | 900        | NOW   | 0",
            "same generation within the stats interval   | 20000  | 1   | true  | 1000   | 1        | true    | 900        | SKIP  | 0",
            "same generation after the stats interval    | 40000  | 1   | true  | 1000   | 1        | true    | 900        | NOW   | 0",
    })
    void decides(String name, long now, long generation, boolean ok, int peers, long lastGeneration, Boolean lastOk, long lastWrite,
            StatusPacing.Kind kind, long delay) {
        StatusPacing.Decision d = pacing.decide(now, generation, ok, peers, lastGeneration, lastOk, lastWrite);
        assertThat(d.kind()).isEqualTo(kind);
        if (kind == StatusPacing.Kind.LATER) {
            assertThat(d.delayMillis()).isEqualTo(delay);
        }
    }

    @ParameterizedTest(name = "spread off ({0} ms): always at once")
    @CsvSource({"0"})
    void aZeroSpreadWritesAtOnce(long max) {
        StatusPacing off = new StatusPacing(30_000, max, bound -> bound);
        assertThat(off.decide(1000, 2, true, 1000, 1, true, 900).kind()).isEqualTo(StatusPacing.Kind.NOW);
    }
}
