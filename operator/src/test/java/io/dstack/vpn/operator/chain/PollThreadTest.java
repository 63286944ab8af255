package io.dstack.vpn.operator.chain;

import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A chain source whose poll never returns must not keep any other source from polling. */
class PollThreadTest {
    private final List<PollThread> threads = new ArrayList<>();
    private final CountDownLatch never = new CountDownLatch(1);

    @AfterEach
    void stop() {
        never.countDown();
        threads.forEach(PollThread::stop);
    }

    @Test
    void hungPollsOfOtherNetworksDoNotStopAHealthyOne() {
        // More hung sources than the old shared scheduler had threads (2): with it, the healthy one never ran again.
        for (int i = 0; i < 4; i++) {
            threads.add(PollThread.start("hung-" + i, this::hang, Duration.ofMillis(10)));
        }
        AtomicInteger healthy = new AtomicInteger();
        threads.add(PollThread.start("healthy", healthy::incrementAndGet, Duration.ofMillis(10)));
        // A liveness bound, not a latency measurement: before, this never happened at all.
        await().atMost(Duration.ofSeconds(30)).until(() -> healthy.get() >= 5);
    }

    @Test
    void stopInterruptsAPollInFlight() throws InterruptedException {
        CountDownLatch interrupted = new CountDownLatch(1);
        CountDownLatch started = new CountDownLatch(1);
        PollThread t = PollThread.start("stopping", () -> {
            started.countDown();
            try {
                never.await();
            } catch (InterruptedException e) {
                interrupted.countDown();
            }
        }, Duration.ofMillis(10));
        started.await();
        t.stop();
        await().atMost(Duration.ofSeconds(30)).until(() -> interrupted.getCount() == 0);
    }

    private void hang() {
        try {
            never.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
