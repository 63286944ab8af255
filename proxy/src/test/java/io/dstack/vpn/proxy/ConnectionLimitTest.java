package io.dstack.vpn.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class ConnectionLimitTest {

    @Test
    void theLimitIsWhatHalfTheHeapCarriesAndCapsAConfiguredOne() {
        long heap32m = 32L << 20;
        int fromMemory = ConnectionLimit.fromMemory(heap32m);
        assertThat((long) fromMemory * ConnectionLimit.CONNECTION_COST).isLessThanOrEqualTo(heap32m / 2);
        assertThat(fromMemory).isGreaterThan(100);
        assertThat(ConnectionLimit.effective(0, heap32m)).isEqualTo(fromMemory);
        assertThat(ConnectionLimit.effective(10, heap32m)).isEqualTo(10);
        assertThat(ConnectionLimit.effective(1_000_000, heap32m)).isEqualTo(fromMemory);
        assertThat(ConnectionLimit.fromMemory(1 << 20)).isEqualTo(ConnectionLimit.MIN_LIMIT);
    }

    @Test
    void atTheLimitTheOldestConnectionWithoutAFrameGivesWay() {
        ConnectionLimit limit = new ConnectionLimit(3);
        List<Integer> evicted = new ArrayList<>();
        ConnectionLimit.Slot a = limit.admit(() -> evicted.add(1));
        ConnectionLimit.Slot b = limit.admit(() -> evicted.add(2));
        ConnectionLimit.Slot c = limit.admit(() -> evicted.add(3));
        limit.proven(a);
        ConnectionLimit.Slot d = limit.admit(() -> evicted.add(4));
        assertThat(d).isNotNull();
        assertThat(evicted).containsExactly(2); // b: the oldest unproven; a has completed a frame
        assertThat(limit.release(b)).isFalse(); // its slot went to d
        assertThat(limit.held()).isEqualTo(3);
        limit.proven(c);
        limit.proven(d);
        assertThat(limit.admit(() -> evicted.add(5))).isNull(); // all proven: refused
        assertThat(limit.release(a)).isTrue();
        assertThat(limit.held()).isEqualTo(2);
        assertThat(limit.admit(() -> { })).isNotNull();
    }
}
