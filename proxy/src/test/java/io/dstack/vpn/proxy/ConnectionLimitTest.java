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
        ConnectionLimit.Slot a = waitedOn(limit, () -> evicted.add(1));
        ConnectionLimit.Slot b = waitedOn(limit, () -> evicted.add(2));
        ConnectionLimit.Slot c = waitedOn(limit, () -> evicted.add(3));
        limit.proven(a);
        assertThat(waitedOn(limit, () -> evicted.add(4))).isNotNull();
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
        ConnectionLimit.Slot a = waitedOn(limit, () -> evicted.add(1));
        ConnectionLimit.Slot b = waitedOn(limit, () -> evicted.add(2));
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
        ConnectionLimit.Slot a = waitedOn(limit, () -> { });
        ConnectionLimit.Slot b = waitedOn(limit, () -> { });
        limit.proven(a);
        limit.proven(b);
        assertThat(waitedOn(limit, () -> { })).isNull();
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
        waitedOn(limit, () -> evicted.add(1));
        now.set(500);
        waitedOn(limit, () -> evicted.add(2));
        assertThat(waitedOn(limit, () -> evicted.add(3))).isNull(); // both still in their grace
        now.set(1200);
        assertThat(waitedOn(limit, () -> evicted.add(4))).isNotNull(); // the first is past it
        assertThat(evicted).containsExactly(1);
        assertThat(waitedOn(limit, () -> evicted.add(5))).isNull(); // the second (admitted at 500) is not yet
    }

    @Test
    void aConnectionWithAFrameGrowsEvenWhenEveryConnectionWithoutOneIsInItsGrace() {
        AtomicLong now = new AtomicLong();
        ConnectionLimit limit = new ConnectionLimit(3 * BASE, 0, 1000, now::get);
        List<Integer> evicted = new ArrayList<>();
        ConnectionLimit.Slot tunnel = waitedOn(limit, () -> evicted.add(1));
        limit.proven(tunnel);
        now.set(10);
        waitedOn(limit, () -> evicted.add(2)); // a flood: every one of them young
        now.set(20);
        waitedOn(limit, () -> evicted.add(3));
        assertThat(waitedOn(limit, () -> evicted.add(4))).isNull(); // a newcomer waits for their grace to end
        assertThat(evicted).isEmpty();
        assertThat(limit.charge(tunnel, BASE)).isTrue(); // the tunnel's growth does not: the oldest young one gives way
        assertThat(evicted).containsExactly(2);
    }

    @Test
    void aConnectionSittingOnALargePartialFrameGivesWayFirstWhateverItsAge() {
        AtomicLong now = new AtomicLong();
        ConnectionLimit limit = new ConnectionLimit(4 * BASE, 0, 1000, now::get);
        List<Integer> evicted = new ArrayList<>();
        waitedOn(limit, () -> evicted.add(1)); // idle, oldest
        now.set(2000);
        ConnectionLimit.Slot half = waitedOn(limit, () -> evicted.add(2)); // young, and growing without a frame
        assertThat(limit.charge(half, 2 * BASE)).isTrue();
        assertThat(waitedOn(limit, () -> evicted.add(3))).isNotNull();
        assertThat(evicted).containsExactly(2); // not 1, though 1 is older and past its grace
        ConnectionLimit.Slot shrunk = waitedOn(limit, () -> evicted.add(4));
        limit.charge(shrunk, BASE);
        limit.refund(shrunk, BASE); // back to a small buffer: no longer first in line
        now.set(2500);
        assertThat(waitedOn(limit, () -> evicted.add(5))).isNotNull(); // fits
        assertThat(waitedOn(limit, () -> evicted.add(6))).isNotNull(); // does not: the oldest past its grace
        assertThat(evicted).containsExactly(2, 1);
    }

    @Test
    void aConnectionTheProxyHasNotYetWaitedOnNeverGivesWay() {
        AtomicLong now = new AtomicLong();
        ConnectionLimit limit = new ConnectionLimit(2 * BASE, 0, 1000, now::get);
        List<Integer> evicted = new ArrayList<>();
        ConnectionLimit.Slot slow = limit.admit(() -> evicted.add(1)); // its thread has not run yet
        waitedOn(limit, () -> evicted.add(2));
        now.set(5000);
        assertThat(waitedOn(limit, () -> evicted.add(3))).isNotNull();
        assertThat(evicted).containsExactly(2); // not the older one: the proxy has not read it yet
        now.set(5500);
        limit.listening(slow); // its grace starts now, not at the accept
        now.set(5800);
        assertThat(waitedOn(limit, () -> evicted.add(4))).isNull(); // 3 is within its grace, slow too
        now.set(6100);
        assertThat(waitedOn(limit, () -> evicted.add(5))).isNotNull(); // 3 is past it
        now.set(6400);
        assertThat(waitedOn(limit, () -> evicted.add(6))).isNull(); // slow, accepted at 0, is still within its grace
        now.set(6600);
        assertThat(waitedOn(limit, () -> evicted.add(7))).isNotNull();
        assertThat(evicted).containsExactly(2, 3, 1);
    }

    @Test
    void theConnectionCountAloneAlsoMakesRoom() {
        ConnectionLimit limit = new ConnectionLimit(100 * BASE, 2, 0, System::nanoTime);
        List<Integer> evicted = new ArrayList<>();
        waitedOn(limit, () -> evicted.add(1));
        waitedOn(limit, () -> evicted.add(2));
        assertThat(waitedOn(limit, () -> evicted.add(3))).isNotNull();
        assertThat(evicted).containsExactly(1);
        assertThat(limit.held()).isEqualTo(2);
    }

    /** Admits a connection and, as its serving thread does at once, starts waiting for its first frame. */
    private static ConnectionLimit.Slot waitedOn(ConnectionLimit limit, Runnable onEvict) {
        ConnectionLimit.Slot slot = limit.admit(onEvict);
        if (slot != null) {
            limit.listening(slot);
        }
        return slot;
    }
}
