package io.dstack.vpn.chain.subscription;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;

/** Keeps every listener call, with the time it arrived and the thread it came on. */
final class RecordingListener implements SubscriptionListener {
    final List<Head> heads = new CopyOnWriteArrayList<>();
    final List<Long> headArrivalNanos = new CopyOnWriteArrayList<>();
    final List<JsonNode> logs = new CopyOnWriteArrayList<>();
    final List<String> disconnects = new CopyOnWriteArrayList<>();
    /** Every call in order: "connected", "head N", "log", "disconnected". */
    final List<String> calls = new CopyOnWriteArrayList<>();
    final AtomicInteger connects = new AtomicInteger();
    final Set<String> threads = ConcurrentHashMap.newKeySet();
    final AtomicInteger concurrent = new AtomicInteger();
    volatile boolean overlapped;
    volatile long lastConnectedNanos;

    @Override
    public void connected() {
        enter();
        lastConnectedNanos = System.nanoTime();
        connects.incrementAndGet();
        calls.add("connected");
        leave();
    }

    @Override
    public void head(Head head) {
        enter();
        headArrivalNanos.add(System.nanoTime());
        heads.add(head);
        calls.add("head " + head.number());
        leave();
    }

    @Override
    public void log(JsonNode log) {
        enter();
        logs.add(log);
        calls.add("log");
        leave();
    }

    @Override
    public void disconnected(String reason) {
        enter();
        disconnects.add(reason);
        calls.add("disconnected");
        leave();
    }

    private void enter() {
        threads.add(Thread.currentThread().getName());
        if (concurrent.incrementAndGet() > 1) {
            overlapped = true;
        }
    }

    private void leave() {
        concurrent.decrementAndGet();
    }
}
