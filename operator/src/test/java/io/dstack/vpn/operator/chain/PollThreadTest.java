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

    @Test
    void aWakePollsAtOnceInsteadOfAtTheNextInterval() throws InterruptedException {
        AtomicInteger polls = new AtomicInteger();
        PollThread t = PollThread.start("waking", polls::incrementAndGet, Duration.ofHours(1));
        threads.add(t);
        await().atMost(Duration.ofSeconds(30)).until(() -> polls.get() == 1); // the first poll runs at start
        t.wake();
        await().atMost(Duration.ofSeconds(30)).until(() -> polls.get() == 2);
        Thread.sleep(200);
        org.assertj.core.api.Assertions.assertThat(polls.get()).as("one wake, one poll: the hour-long interval still holds").isEqualTo(2);
    }

    @Test
    void aWakeDuringAPollRunsOneMorePollAfterIt() throws InterruptedException {
        AtomicInteger polls = new AtomicInteger();
        CountDownLatch inSecond = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        PollThread t = PollThread.start("busy", () -> {
            if (polls.incrementAndGet() == 2) {
                inSecond.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }, Duration.ofHours(1));
        threads.add(t);
        await().atMost(Duration.ofSeconds(30)).until(() -> polls.get() == 1);
        t.wake();
        inSecond.await();
        // Three wakes while the second poll runs merge into one more poll.
        t.wake();
        t.wake();
        t.wake();
        release.countDown();
        await().atMost(Duration.ofSeconds(30)).until(() -> polls.get() == 3);
        Thread.sleep(200);
        org.assertj.core.api.Assertions.assertThat(polls.get()).isEqualTo(3);
    }

    @Test
    void theIntervalIsAskedForAfterEveryPoll() {
        AtomicInteger polls = new AtomicInteger();
        // Fast while fewer than 3 polls ran, then an hour: exactly 3 polls.
        PollThread t = PollThread.start("changing", polls::incrementAndGet,
                () -> polls.get() < 3 ? Duration.ofMillis(10) : Duration.ofHours(1));
        threads.add(t);
        await().atMost(Duration.ofSeconds(30)).until(() -> polls.get() >= 3);
        try {
            Thread.sleep(200);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        org.assertj.core.api.Assertions.assertThat(polls.get()).isEqualTo(3);
    }

    private void hang() {
        try {
            never.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
