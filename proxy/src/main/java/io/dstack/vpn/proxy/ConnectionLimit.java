package io.dstack.vpn.proxy;

import java.util.Iterator;
import java.util.LinkedHashSet;

/**
 * How many TCP connections tcp2udp holds at once, and which one gives way when a new one arrives at the limit.
 *
 * <p>The limit follows from the heap the proxy really has ({@link Runtime#maxMemory()}): half of it, divided by
 * what one connection can cost at most ({@link #CONNECTION_COST}: a reply buffer for the largest datagram, a
 * read buffer grown to the largest frame, threads and sockets). The other half is the JVM's and the GC's
 * headroom. So no mix of clients can exhaust the heap through connections.
 *
 * <p>At the limit, the oldest connection that has not yet completed a frame is closed to make room (it is
 * counted as evicted): anyone can open idle or half-frame connections, but a real tunnel sends its first
 * frame at once and is never evicted. Only when every connection has completed a frame is a newcomer refused.
 */
final class ConnectionLimit {
    /** 2 × (2 + 65,535) bytes of buffers plus about 4 KiB of sockets, streams and virtual-thread stacks. */
    static final long CONNECTION_COST = 2L * FrameReader.MAX + 4096;
    static final int MIN_LIMIT = 16;

    /** One admitted connection; {@code onEvict} closes it. */
    static final class Slot {
        private final Runnable onEvict;
        private boolean evicted;

        Slot(Runnable onEvict) {
            this.onEvict = onEvict;
        }
    }

    private final int max;
    private int held;
    /** Connections that have not completed a frame, oldest first: the ones that give way. */
    private final LinkedHashSet<Slot> unproven = new LinkedHashSet<>();

    ConnectionLimit(int max) {
        this.max = max;
    }

    /** The limit {@code maxMemory} bytes of heap can carry. */
    static int fromMemory(long maxMemory) {
        return (int) Math.max(MIN_LIMIT, Math.min(1_000_000, maxMemory / 2 / CONNECTION_COST));
    }

    /** {@code configured} (0 = unset) capped at what the heap carries. */
    static int effective(int configured, long maxMemory) {
        int fromMemory = fromMemory(maxMemory);
        return configured <= 0 ? fromMemory : Math.min(configured, fromMemory);
    }

    int max() {
        return max;
    }

    /**
     * Admits a new connection, evicting the oldest one without a completed frame if the limit is reached;
     * null = refused (every held connection has proven itself).
     */
    Slot admit(Runnable onEvict) {
        Slot slot = new Slot(onEvict);
        Slot victim = null;
        synchronized (this) {
            if (held < max) {
                held++;
            } else {
                Iterator<Slot> oldest = unproven.iterator();
                if (!oldest.hasNext()) {
                    return null;
                }
                victim = oldest.next();
                oldest.remove();
                victim.evicted = true; // its slot passes to the newcomer
            }
            unproven.add(slot);
        }
        if (victim != null) {
            victim.onEvict.run();
        }
        return slot;
    }

    /** The connection completed a frame: it no longer gives way to newcomers. */
    synchronized void proven(Slot slot) {
        unproven.remove(slot);
    }

    /** The connection ended; false = it had been evicted (its slot was passed on already). */
    synchronized boolean release(Slot slot) {
        unproven.remove(slot);
        if (slot.evicted) {
            return false;
        }
        held--;
        return true;
    }

    synchronized int held() {
        return held;
    }
}
