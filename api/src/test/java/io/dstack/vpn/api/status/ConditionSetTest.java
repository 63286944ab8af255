package io.dstack.vpn.api.status;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;

import org.junit.jupiter.api.Test;

class ConditionSetTest {
    static final Clock T1 = Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC);
    static final Clock T2 = Clock.fixed(Instant.parse("2026-01-01T01:00:00Z"), ZoneOffset.UTC);

    @Test
    void transitionTimeMovesOnlyWhenStatusChanges() {
        var first = new ConditionSet(null, 1, T1).set("Ready", true, "Ok", "fine").build();
        var same = new ConditionSet(first, 2, T2).set("Ready", true, "Ok", "still fine").build();
        assertThat(same.get(0).getLastTransitionTime()).isEqualTo("2026-01-01T00:00:00Z");
        assertThat(same.get(0).getObservedGeneration()).isEqualTo(2);
        var flipped = new ConditionSet(same, 2, T2).set("Ready", false, "Broken", "no").build();
        assertThat(flipped.get(0).getLastTransitionTime()).isEqualTo("2026-01-01T01:00:00Z");
        assertThat(flipped.get(0).getStatus()).isEqualTo("False");
    }

    @Test
    void withoutAGenerationTheFieldIsLeftOut() {
        var first = new ConditionSet(null, T1).set("Applied", true, "Applied", "ok").build();
        assertThat(first.get(0).getObservedGeneration()).isNull();
        var again = new ConditionSet(first, T2).set("Applied", true, "Applied", "ok again").build();
        assertThat(again.get(0).getLastTransitionTime()).isEqualTo("2026-01-01T00:00:00Z");
    }

    @Test
    void carryKeepsAConditionThisPassDidNotSetExactlyAsItWas() {
        var first = new ConditionSet(null, 1, T1).set("Ready", true, "Ok", "fine").set("PeerSetRendered", true, "Rendered", "gen 4")
                .build();
        var early = new ConditionSet(first, 2, T2).set("Ready", false, "Waiting", "chain").carry("PeerSetRendered", "Ready", "Missing")
                .build();
        assertThat(early).extracting(c -> c.getType() + "=" + c.getStatus() + "/" + c.getReason() + "@" + c.getObservedGeneration())
                .containsExactly("Ready=False/Waiting@2", "PeerSetRendered=True/Rendered@1"); // set wins; absent stays absent
        assertThat(early.get(1)).isEqualTo(first.get(1));
    }
}
