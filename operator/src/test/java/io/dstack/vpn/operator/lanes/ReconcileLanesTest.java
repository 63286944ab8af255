package io.dstack.vpn.operator.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

class ReconcileLanesTest {

    /** A task that names its lane the way JOSDK's ReconcilerExecutor does: "controller -> resource". */
    record Named(String name, Runnable body) implements Runnable {
        @Override
        public void run() {
            body.run();
        }

        @Override
        public String toString() {
            return name;
        }
    }

    @Test
    void aPriorityTaskRunsWhileTheGeneralLaneIsFullAndQueued() throws Exception {
        ReconcileLanes lanes = new ReconcileLanes(1, 2, ReconcileRouting::isNetworkReconcile);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger generalDone = new AtomicInteger();
        try {
            // Both general threads blocked and 1,000 more general tasks queued behind them.
            for (int i = 0; i < 1002; i++) {
                lanes.execute(new Named("vpnpeer -> peer-" + i, () -> {
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    generalDone.incrementAndGet();
                }));
            }
            CountDownLatch networkRan = new CountDownLatch(1);
            lanes.execute(new Named("vpnnetwork -> net-a", networkRan::countDown));
            assertThat(networkRan.await(5, TimeUnit.SECONDS)).as("the network reconcile ran before the peers' burst").isTrue();
            assertThat(generalDone.get()).isZero();
            assertThat(lanes.generalQueued()).isEqualTo(1000);
            assertThat(lanes.priorityTasks()).isEqualTo(1);
            assertThat(lanes.generalTasks()).isEqualTo(1002);
        } finally {
            release.countDown();
            lanes.shutdown();
            assertThat(lanes.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(generalDone.get()).isEqualTo(1002);
    }

    @Test
    void withOneSharedPoolTheSameTaskWaitsBehindTheBurst() throws Exception {
        // The control: every task in one lane, as JOSDK's shared pool does.
        ReconcileLanes oneLane = new ReconcileLanes(1, 2, task -> false);
        CountDownLatch release = new CountDownLatch(1);
        try {
            for (int i = 0; i < 10; i++) {
                oneLane.execute(new Named("vpnpeer -> peer-" + i, () -> {
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }));
            }
            CountDownLatch networkRan = new CountDownLatch(1);
            oneLane.execute(new Named("vpnnetwork -> net-a", networkRan::countDown));
            assertThat(networkRan.await(300, TimeUnit.MILLISECONDS)).isFalse();
        } finally {
            release.countDown();
            oneLane.shutdown();
            assertThat(oneLane.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        }
    }

    @Test
    void routingMatchesOnlyTheNetworkController() {
        assertThat(ReconcileRouting.isNetworkReconcile(new Named("vpnnetwork -> VpnNetwork{metadata=…}", () -> { }))).isTrue();
        assertThat(ReconcileRouting.isNetworkReconcile(new Named("vpnpeer -> VpnPeer{…}", () -> { }))).isFalse();
        assertThat(ReconcileRouting.isNetworkReconcile(new Named("vpnnetworkish -> x", () -> { }))).isFalse();
        Runnable throwing = new Runnable() {
            @Override
            public void run() {
            }

            @Override
            public String toString() {
                throw new IllegalStateException("boom");
            }
        };
        assertThat(ReconcileRouting.isNetworkReconcile(throwing)).isFalse();
    }
}
