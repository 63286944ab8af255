package io.dstack.vpn.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

class ConnectionLimitTest {
    static final long BASE = ConnectionLimit.BASE_COST;

    @Test
    void theConnectionCountFollowsFromHalfTheHeapAndCapsAConfiguredOne() {
        long heap32m = 32L << 20;
        long budget = ConnectionLimit.budgetOf(heap32m);
        assertThat(budget).isEqualTo(heap32m / 2);
        ConnectionLimit derived = new ConnectionLimit(budget, 0);
        assertThat((long) derived.maxConnections() * BASE).isLessThanOrEqualTo(budget);
        assertThat(derived.maxConnections()).isGreaterThan(1000); // idle connections are cheap
        assertThat(new ConnectionLimit(budget, 10).maxConnections()).isEqualTo(10);
        assertThat(new ConnectionLimit(budget, 1_000_000).maxConnections()).isEqualTo(derived.maxConnections());
        assertThat(new ConnectionLimit(1 << 10, 0).maxConnections()).isEqualTo(ConnectionLimit.MIN_CONNECTIONS);
    }

    @Test
    void whenMemoryRunsShortTheOldestConnectionWithoutAFrameGivesWay() {
        ConnectionLimit limit = new ConnectionLimit(3 * BASE + 1000, 0, 0, System::nanoTime);
        List<Integer> evicted = new ArrayList<>();
        ConnectionLimit.Slot a = limit.admit(() -> evicted.add(1));
        ConnectionLimit.Slot b = limit.admit(() -> evicted.add(2));
        ConnectionLimit.Slot c = limit.admit(() -> evicted.add(3));
        limit.proven(a);
        assertThat(limit.admit(() -> evicted.add(4))).isNotNull();
        assertThat(evicted).containsExactly(2); // b: the oldest unproven; a has completed a frame
        limit.release(b); // its thread ends later: nothing more is released
        assertThat(limit.used()).isEqualTo(3 * BASE);
        // a grows its buffer: c (the oldest unproven now) makes room
        assertThat(limit.charge(a, 500)).isTrue();
        assertThat(limit.charge(a, 1000)).isTrue();
        assertThat(evicted).containsExactly(2, 3);
        limit.refund(a, 1500);
        assertThat(limit.used()).isEqualTo(2 * BASE);
    }

    @Test
    void aConnectionWithoutACompletedFrameGrowsOnlyIntoFreeMemory() {
        ConnectionLimit limit = new ConnectionLimit(3 * BASE, 0, 0, System::nanoTime);
        List<Integer> evicted = new ArrayList<>();
        ConnectionLimit.Slot a = limit.admit(() -> evicted.add(1));
        ConnectionLimit.Slot b = limit.admit(() -> evicted.add(2));
        assertThat(limit.charge(b, BASE)).isTrue(); // free memory
        assertThat(limit.charge(b, 1)).isFalse();   // would need a to give way: no
        assertThat(evicted).isEmpty();
        limit.proven(b);
        assertThat(limit.charge(b, 1)).isTrue();    // b has completed a frame: a gives way
        assertThat(evicted).containsExactly(1);
    }

    @Test
    void aChargeNoUnprovenConnectionCanCoverIsRefused() {
        ConnectionLimit limit = new ConnectionLimit(2 * BASE, 0, 0, System::nanoTime);
        ConnectionLimit.Slot a = limit.admit(() -> { });
        ConnectionLimit.Slot b = limit.admit(() -> { });
        limit.proven(a);
        limit.proven(b);
        assertThat(limit.admit(() -> { })).isNull();
        assertThat(limit.charge(a, 1)).isFalse();
        limit.release(a);
        assertThat(limit.charge(b, BASE)).isTrue();
        assertThat(limit.held()).isEqualTo(1);
    }

    @Test
    void aNewConnectionCannotBeEvictedDuringItsGrace() {
        AtomicLong now = new AtomicLong();
        ConnectionLimit limit = new ConnectionLimit(2 * BASE, 0, 1000, now::get);
        List<Integer> evicted = new ArrayList<>();
        limit.admit(() -> evicted.add(1));
        now.set(500);
        limit.admit(() -> evicted.add(2));
        assertThat(limit.admit(() -> evicted.add(3))).isNull(); // both still in their grace
        now.set(1200);
        assertThat(limit.admit(() -> evicted.add(4))).isNotNull(); // the first is past it
        assertThat(evicted).containsExactly(1);
        assertThat(limit.admit(() -> evicted.add(5))).isNull(); // the second (admitted at 500) is not yet
    }

    @Test
    void theConnectionCountAloneAlsoMakesRoom() {
        ConnectionLimit limit = new ConnectionLimit(100 * BASE, 2, 0, System::nanoTime);
        List<Integer> evicted = new ArrayList<>();
        limit.admit(() -> evicted.add(1));
        limit.admit(() -> evicted.add(2));
        assertThat(limit.admit(() -> evicted.add(3))).isNotNull();
        assertThat(evicted).containsExactly(1);
        assertThat(limit.held()).isEqualTo(2);
    }
}
