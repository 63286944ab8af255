package io.dstack.vpn.operator.lanes;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * The reconcile executor in two lanes, each with its own threads and queue: a priority lane for the reconciles
 * that change what agents apply (the network's peer set, so every revocation), and a general lane for the rest
 * (thousands of VpnPeer status reconciles after a mass change). JOSDK runs every controller on one FIFO pool, in
 * which a revocation's network reconcile waited behind the whole burst; here it waits only for other network
 * reconciles, of which there are few (JOSDK never runs two for one network at once).
 */
public final class ReconcileLanes extends AbstractExecutorService {
    private final ThreadPoolExecutor priority;
    private final ThreadPoolExecutor general;
    private final Predicate<Runnable> isPriority;
    private final AtomicLong priorityTasks = new AtomicLong();
    private final AtomicLong generalTasks = new AtomicLong();

    /** @param isPriority decides a task's lane when it is submitted; it must be cheap and must not throw */
    public ReconcileLanes(int priorityThreads, int generalThreads, Predicate<Runnable> isPriority) {
        this.priority = pool("reconcile-priority", priorityThreads);
        this.general = pool("reconcile-general", generalThreads);
        this.isPriority = isPriority;
    }

    private static ThreadPoolExecutor pool(String name, int threads) {
        AtomicInteger n = new AtomicInteger();
        return new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public void execute(Runnable task) {
        if (isPriority.test(task)) {
            priorityTasks.incrementAndGet();
            priority.execute(task);
        } else {
            generalTasks.incrementAndGet();
            general.execute(task);
        }
    }

    /** Tasks sent to the priority lane so far (a metric, and the proof that routing still matches JOSDK's tasks). */
    public long priorityTasks() {
        return priorityTasks.get();
    }

    public long generalTasks() {
        return generalTasks.get();
    }

    /** Tasks waiting for a thread in each lane. */
    public int priorityQueued() {
        return priority.getQueue().size();
    }

    public int generalQueued() {
        return general.getQueue().size();
    }

    @Override
    public void shutdown() {
        priority.shutdown();
        general.shutdown();
    }

    @Override
    public List<Runnable> shutdownNow() {
        List<Runnable> pending = new ArrayList<>(priority.shutdownNow());
        pending.addAll(general.shutdownNow());
        return pending;
    }

    @Override
    public boolean isShutdown() {
        return priority.isShutdown() && general.isShutdown();
    }

    @Override
    public boolean isTerminated() {
        return priority.isTerminated() && general.isTerminated();
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        return priority.awaitTermination(timeout, unit)
                && general.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    }
}
