package io.dstack.vpn.operator.chain;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One chain source's polls, on a thread of its own. The RPC endpoint of a network is chosen by whoever writes
 * the network: on a shared pool, a few endpoints that answer slowly held every thread and stopped chain
 * following (revocations included) for all networks. The deadline on each request bounds one poll; this
 * bounds who waits for it. A network is a whole VPN, so there are few: a platform thread each is cheap.
 */
final class PollThread {
    private final ScheduledExecutorService executor;

    private PollThread(ScheduledExecutorService executor) {
        this.executor = executor;
    }

    /** Runs {@code poll} now and then {@code interval} after each run ends, until {@link #stop}. */
    static PollThread start(String name, Runnable poll, Duration interval) {
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
        executor.scheduleWithFixedDelay(poll, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
        return new PollThread(executor);
    }

    /** Interrupts a running poll (an RPC call in flight is abandoned) and runs no more. */
    void stop() {
        executor.shutdownNow();
    }
}
