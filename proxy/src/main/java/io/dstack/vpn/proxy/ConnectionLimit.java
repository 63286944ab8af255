package io.dstack.vpn.proxy;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * What tcp2udp's connections may hold, together: half the heap the proxy really has ({@link Runtime#maxMemory()});
 * the other half is the JVM's and the GC's headroom. Each connection is charged for what it holds: {@link #BASE_COST}
 * when accepted (socket, streams, virtual thread, a small read buffer), then the growth of its read buffer as a
 * large frame arrives, and a reply buffer for the largest datagram once it has completed a frame. So the number
 * of connections follows from what they hold: about {@code budget / BASE_COST} idle ones, far fewer busy ones.
 *
 * <p>When a newcomer, or a connection that has completed a frame, does not fit, the oldest connection that has
 * not yet completed a frame, and is past its {@link #GRACE_NANOS}, is closed to make room (counted as evicted):
 * anyone can open idle or half-frame connections, but a real tunnel sends its first frame at once and is never
 * evicted once it has. If there is no such connection, the charge is refused: a newcomer is refused, a growing
 * connection is closed. A connection without a completed frame never evicts others to grow: a flood of
 * half-frame connections only takes what is free.
 */
final class ConnectionLimit {
    /** Socket, streams, virtual-thread stack and a {@link FrameReader#INITIAL} read buffer, rounded up. */
    static final long BASE_COST = FrameReader.INITIAL + 6144;
    /** What a connection that completed a frame adds: the reply buffer for the largest datagram. */
    static final int REPLY_COST_INT = FrameReader.MAX;
    static final long REPLY_COST = REPLY_COST_INT;
    static final int MIN_CONNECTIONS = 16;
    /** Time a new connection has to complete its first frame before it can give way (a tunnel needs milliseconds). */
    static final long GRACE_NANOS = 250_000_000L;

    /** One admitted connection; {@code onEvict} closes it. */
    static final class Slot {
        private final Runnable onEvict;
        private final long admitted;
        private long charged;
        private boolean released;

        Slot(Runnable onEvict, long admitted) {
            this.onEvict = onEvict;
            this.admitted = admitted;
        }
    }

    private final long budget;
    private final int maxConnections;
    private final long graceNanos;
    private final LongSupplier clock;
    private long used;
    private int held;
    /** Connections that have not completed a frame, oldest first: the ones that give way. */
    private final LinkedHashSet<Slot> unproven = new LinkedHashSet<>();

    /** @param maxConnections 0 = as many as the budget carries at {@link #BASE_COST} each */
    ConnectionLimit(long budget, int maxConnections) {
        this(budget, maxConnections, GRACE_NANOS, System::nanoTime);
    }

    ConnectionLimit(long budget, int maxConnections, long graceNanos, LongSupplier clock) {
        this.budget = budget;
        int carried = (int) Math.max(MIN_CONNECTIONS, Math.min(1_000_000, budget / BASE_COST));
        this.maxConnections = maxConnections <= 0 ? carried : Math.min(maxConnections, carried);
        this.graceNanos = graceNanos;
        this.clock = clock;
    }

    /** The budget of a heap of {@code maxMemory} bytes. */
    static long budgetOf(long maxMemory) {
        return maxMemory / 2;
    }

    long budget() {
        return budget;
    }

    int maxConnections() {
        return maxConnections;
    }

    /** Admits a new connection (making room if needed); null = refused. */
    Slot admit(Runnable onEvict) {
        Slot slot = new Slot(onEvict, clock.getAsLong());
        List<Slot> victims;
        synchronized (this) {
            victims = makeRoom(BASE_COST, held >= maxConnections);
            if (victims == null) {
                return null;
            }
            held++;
            used += BASE_COST;
            slot.charged = BASE_COST;
            unproven.add(slot);
        }
        evict(victims);
        return slot;
    }

    /** Charges {@code bytes} more to {@code slot} (making room if needed); false = no room: close the connection. */
    boolean charge(Slot slot, long bytes) {
        List<Slot> victims;
        synchronized (this) {
            if (slot.released) {
                return false;
            }
            victims = unproven.contains(slot) ? fits(bytes) : makeRoom(bytes, false);
            if (victims == null) {
                return false;
            }
            used += bytes;
            slot.charged += bytes;
        }
        evict(victims);
        return true;
    }

    /** Gives back {@code bytes} of what {@code slot} was charged. */
    synchronized void refund(Slot slot, long bytes) {
        if (!slot.released) {
            long back = Math.min(bytes, slot.charged);
            slot.charged -= back;
            used -= back;
        }
    }

    /** The connection completed a frame: it no longer gives way to newcomers. */
    synchronized void proven(Slot slot) {
        unproven.remove(slot);
    }

    /** The connection ended: everything it was charged is free again. */
    synchronized void release(Slot slot) {
        if (slot.released) {
            return;
        }
        slot.released = true;
        unproven.remove(slot);
        used -= slot.charged;
        held--;
    }

    synchronized long used() {
        return used;
    }

    synchronized int held() {
        return held;
    }

    private List<Slot> fits(long bytes) {
        return used + bytes <= budget ? List.of() : null;
    }

    /**
     * Evicts (oldest first, past their grace) connections without a completed frame until {@code bytes} fit and,
     * if {@code needSlot}, a connection slot is free; returns them to close, or null when that is not possible (then
     * nothing was evicted). An evicted connection's charges are freed at once: its thread releases nothing more.
     */
    private List<Slot> makeRoom(long bytes, boolean needSlot) {
        List<Slot> victims = new ArrayList<>();
        long freed = 0;
        Iterator<Slot> oldest = unproven.iterator();
        long now = clock.getAsLong();
        while (used - freed + bytes > budget || (needSlot && victims.isEmpty())) {
            if (!oldest.hasNext()) {
                return null;
            }
            Slot victim = oldest.next();
            if (now - victim.admitted < graceNanos) {
                return null; // the oldest left is still in its grace, so is everyone younger
            }
            victims.add(victim);
            freed += victim.charged;
        }
        victims.forEach(this::release);
        return victims;
    }

    private static void evict(List<Slot> victims) {
        victims.forEach(v -> v.onEvict.run());
    }
}
