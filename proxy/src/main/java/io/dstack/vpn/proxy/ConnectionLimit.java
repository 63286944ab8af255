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
 * <p>When a newcomer does not fit, a connection that has not yet completed a frame is closed to make room
 * (counted as evicted). First one that grew its buffer without completing a frame, whatever its age: a tunnel's
 * first frame is a WireGuard handshake of 148 bytes, so only a client sitting on a large partial frame grows
 * before its first frame. Then the oldest past its {@link #GRACE_NANOS}: anyone can open idle connections, but a
 * real tunnel sends its first frame at once and is never evicted once it has. When a connection that has
 * completed a frame grows (its reply buffer, a large frame), connections without a frame give way whatever their
 * age: under a flood every one of them is young, and a tunnel must not be closed for that. If there is no such
 * connection, the charge is refused: a newcomer is refused, a growing connection is closed. A connection without
 * a completed frame never evicts others to grow: a flood of half-frame connections only takes what is free.
 */
final class ConnectionLimit {
    /** Socket, streams, virtual-thread stack and a {@link FrameReader#INITIAL} read buffer, rounded up. */
    static final long BASE_COST = FrameReader.INITIAL + 6144;
    /** What a connection that completed a frame adds: the reply buffer for the largest datagram. */
    static final int REPLY_COST_INT = FrameReader.MAX;
    static final long REPLY_COST = REPLY_COST_INT;
    static final int MIN_CONNECTIONS = 16;
    /**
     * Time a connection has to complete its first frame before it can give way (a tunnel needs milliseconds). It
     * counts from when the proxy first waits for the connection's data ({@link #listening}), not from the accept:
     * on a loaded node a new connection's thread can wait longer than that to be scheduled at all, and a tunnel
     * must not lose its place for the proxy's own delay.
     */
    static final long GRACE_NANOS = 250_000_000L;

    /** One admitted connection; {@code onEvict} closes it. */
    static final class Slot {
        private final Runnable onEvict;
        private long listeningSince;
        private boolean listening;
        private boolean proven;
        private long charged;
        private boolean released;

        Slot(Runnable onEvict) {
            this.onEvict = onEvict;
        }
    }

    private final long budget;
    private final int maxConnections;
    private final long graceNanos;
    private final LongSupplier clock;
    private long used;
    private int held;
    /**
     * Connections the proxy waits on that have not completed a frame, in the order it started waiting: the ones
     * that give way. One not yet waited on is in no list: it has not had its chance.
     */
    private final LinkedHashSet<Slot> unproven = new LinkedHashSet<>();
    /** Those of {@link #unproven} charged more than {@link #BASE_COST}: sitting on a large partial frame. */
    private final LinkedHashSet<Slot> hoarding = new LinkedHashSet<>();

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
        Slot slot = new Slot(onEvict);
        List<Slot> victims;
        synchronized (this) {
            victims = makeRoom(BASE_COST, held >= maxConnections, true);
            if (victims == null) {
                return null;
            }
            held++;
            used += BASE_COST;
            slot.charged = BASE_COST;
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
            victims = slot.proven ? makeRoom(bytes, false, false) : fits(bytes);
            if (victims == null) {
                return false;
            }
            used += bytes;
            slot.charged += bytes;
            if (!slot.proven && slot.listening && slot.charged > BASE_COST) {
                hoarding.add(slot);
            }
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
            if (slot.charged <= BASE_COST) {
                hoarding.remove(slot);
            }
        }
    }

    /** The proxy waits for the connection's first frame from now on: its grace starts. Later calls change nothing. */
    synchronized void listening(Slot slot) {
        if (slot.listening || slot.proven || slot.released) {
            return;
        }
        slot.listening = true;
        slot.listeningSince = clock.getAsLong();
        unproven.add(slot); // stamped under the lock: the list stays ordered by listeningSince
    }

    /** The connection completed a frame: it no longer gives way to newcomers. */
    synchronized void proven(Slot slot) {
        slot.proven = true;
        unproven.remove(slot);
        hoarding.remove(slot);
    }

    /** The connection ended: everything it was charged is free again. */
    synchronized void release(Slot slot) {
        if (slot.released) {
            return;
        }
        slot.released = true;
        unproven.remove(slot);
        hoarding.remove(slot);
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
     * Picks connections without a completed frame to evict until {@code bytes} fit and, if {@code needSlot}, a
     * connection slot is free: those {@link #hoarding} first, then the oldest others ({@code withGrace}: only those
     * past their grace). Returns them to close, or null when that is not possible (then nothing was evicted). An
     * evicted connection's charges are freed at once: its thread releases nothing more.
     */
    private List<Slot> makeRoom(long bytes, boolean needSlot, boolean withGrace) {
        List<Slot> victims = new ArrayList<>();
        long freed = 0;
        Iterator<Slot> hoarders = hoarding.iterator();
        Iterator<Slot> oldest = unproven.iterator();
        long now = clock.getAsLong();
        while (used - freed + bytes > budget || (needSlot && victims.isEmpty())) {
            Slot victim;
            if (hoarders.hasNext()) {
                victim = hoarders.next();
            } else {
                victim = nextNotHoarding(oldest);
                if (victim == null) {
                    return null;
                }
                if (withGrace && now - victim.listeningSince < graceNanos) {
                    return null; // the oldest left is still in its grace, so is everyone younger
                }
            }
            victims.add(victim);
            freed += victim.charged;
        }
        victims.forEach(this::release);
        return victims;
    }

    /** The next of {@code oldest} not in {@link #hoarding} (those were taken first), or null. */
    private Slot nextNotHoarding(Iterator<Slot> oldest) {
        while (oldest.hasNext()) {
            Slot slot = oldest.next();
            if (!hoarding.contains(slot)) {
                return slot;
            }
        }
        return null;
    }

    private static void evict(List<Slot> victims) {
        victims.forEach(v -> v.onEvict.run());
    }
}
