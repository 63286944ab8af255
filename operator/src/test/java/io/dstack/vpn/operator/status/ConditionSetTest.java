package io.dstack.vpn.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;

import org.junit.jupiter.api.Test;

class ConditionSetTest {
    @Test
    void transitionTimeMovesOnlyWhenStatusChanges() {
        Clock t1 = Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC);
        Clock t2 = Clock.fixed(Instant.parse("2026-01-01T01:00:00Z"), ZoneOffset.UTC);
        var first = new ConditionSet(null, 1, t1).set("Ready", true, "Ok", "fine").build();
        var same = new ConditionSet(first, 2, t2).set("Ready", true, "Ok", "still fine").build();
        assertThat(same.get(0).getLastTransitionTime()).isEqualTo("2026-01-01T00:00:00Z");
        assertThat(same.get(0).getObservedGeneration()).isEqualTo(2);
        var flipped = new ConditionSet(same, 2, t2).set("Ready", false, "Broken", "no").build();
        assertThat(flipped.get(0).getLastTransitionTime()).isEqualTo("2026-01-01T01:00:00Z");
        assertThat(flipped.get(0).getStatus()).isEqualTo("False");
    }
}
