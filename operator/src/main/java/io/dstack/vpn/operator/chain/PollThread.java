package io.dstack.vpn.operator.chain;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * One chain source's polls, on a thread of its own. The RPC endpoint of a network is chosen by whoever writes
 * the network: on a shared pool, a few endpoints that answer slowly held every thread and stopped chain
 * following (revocations included) for all networks. The deadline on each request bounds one poll; this
 * bounds who waits for it. A network is a whole VPN, so there are few: a platform thread each is cheap.
 *
 * <p>A subscription {@link #wake}s it when a block arrives, and the interval may change between polls (a live
 * subscription needs only a slow safety poll; a dropped one falls back to the spec's interval).
 */
final class PollThread {
    private final ScheduledExecutorService executor;
    private final Runnable poll;
    private final Supplier<Duration> interval;
    private final AtomicBoolean wakeQueued = new AtomicBoolean();
    /** The next timed poll; read and written on the poll thread only. */
    private ScheduledFuture<?> next;

    private PollThread(ScheduledExecutorService executor, Runnable poll, Supplier<Duration> interval) {
        this.executor = executor;
        this.poll = poll;
        this.interval = interval;
    }

    /** Runs {@code poll} now and then {@code interval} after each run ends, until {@link #stop}. */
    static PollThread start(String name, Runnable poll, Duration interval) {
        return start(name, poll, () -> interval);
    }

    /** As {@link #start(String, Runnable, Duration)}, with the interval asked for after every run. */
    static PollThread start(String name, Runnable poll, Supplier<Duration> interval) {
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
        PollThread t = new PollThread(executor, poll, interval);
        executor.execute(t::run);
        return t;
    }

    /**
     * Polls as soon as the thread is free, instead of at the next interval. Wakes that come while one is queued
     * merge into it; a wake during a poll runs one more poll after it, so nothing that arrived is left waiting.
     */
    void wake() {
        if (wakeQueued.compareAndSet(false, true)) {
            try {
                executor.execute(() -> {
                    wakeQueued.set(false);
                    if (next != null) {
                        next.cancel(false);
                    }
                    run();
                });
            } catch (java.util.concurrent.RejectedExecutionException stopped) {
                // stopped: nothing more to poll
            }
        }
    }

    private void run() {
        try {
            poll.run();
        } finally {
            if (!executor.isShutdown()) {
                try {
                    next = executor.schedule(this::run, interval.get().toMillis(), TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.RejectedExecutionException stopped) {
                    // stop() raced us
                }
            }
        }
    }

    /** Interrupts a running poll (an RPC call in flight is abandoned) and runs no more. */
    void stop() {
        executor.shutdownNow();
    }
}
