package io.dstack.vpn.proxy;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/**
 * Reads Mullvad frames from a TCP stream into a buffer that holds only what has arrived: it starts at
 * {@link #INITIAL} bytes (a WireGuard packet at the usual MTU fits) and grows, by doubling, only when the bytes
 * already received fill it, up to one maximal frame. A client that announces a 65,535-byte frame and sends
 * nothing more therefore costs {@link #INITIAL} bytes, not 64 KiB. Once traffic falls back to small frames
 * the buffer shrinks again.
 */
final class FrameReader {
    static final int INITIAL = 2048;
    static final int MAX = Framing.HEADER + Framing.MAX_PAYLOAD;

    /** Called before every blocking read; may set a socket timeout (see {@link FrameDeadline}). */
    interface BeforeRead {
        void beforeRead(boolean insideFrame) throws IOException;

        BeforeRead NONE = insideFrame -> { };
    }

    /** Who pays for a grown buffer; false = no room, and the read fails with {@link NoMemory}. */
    interface Memory {
        boolean grow(int bytes);

        void shrink(int bytes);

        Memory UNLIMITED = new Memory() {
            @Override
            public boolean grow(int bytes) {
                return true;
            }

            @Override
            public void shrink(int bytes) {
            }
        };
    }

    /** A frame needed a bigger buffer than the memory budget allows now. */
    static final class NoMemory extends IOException {
        NoMemory(int bytes) {
            super("no memory for a " + bytes + "-byte read buffer");
        }
    }

    private final InputStream in;
    private final BeforeRead beforeRead;
    private final Memory memory;
    private byte[] buf = new byte[INITIAL];
    private int start; // unread bytes are buf[start, end)
    private int end;
    private int payload; // offset of the last frame's payload
    private int frameStart; // offset of the last frame's header
    /** The last read filled all the room it was given: more was waiting, so growing pays off. */
    private boolean lastReadFull;

    FrameReader(InputStream in, BeforeRead beforeRead) {
        this(in, beforeRead, Memory.UNLIMITED);
    }

    FrameReader(InputStream in, BeforeRead beforeRead, Memory memory) {
        this.in = in;
        this.beforeRead = beforeRead;
        this.memory = memory;
    }

    /**
     * Reads the next frame and returns its payload length (the bytes are at {@link #buffer()} from
     * {@link #offset()}, valid until the next call), or -1 at a clean end of stream between frames. A stream
     * that ends inside a frame is an {@link EOFException}.
     */
    int next() throws IOException {
        if (start == end && buf.length > INITIAL && !lastReadFull) {
            memory.shrink(buf.length - INITIAL);
            buf = new byte[INITIAL]; // idle again: give the grown buffer back
            start = end = 0;
        }
        if (!fill(Framing.HEADER)) {
            return -1;
        }
        int length = ((buf[start] & 0xff) << 8) | (buf[start + 1] & 0xff);
        if (!fill(Framing.HEADER + length)) {
            throw new EOFException("stream ended inside a frame: " + (end - start - Framing.HEADER) + " of " + length + " bytes");
        }
        frameStart = start;
        payload = start + Framing.HEADER;
        start = payload + length;
        return length;
    }

    /** Puts the last frame back: the next {@link #next()} returns it again. */
    void unread() {
        start = frameStart;
    }

    byte[] buffer() {
        return buf;
    }

    int offset() {
        return payload;
    }

    /** The bytes this reader holds now (for tests and the memory argument of ADR 0008). */
    int capacity() {
        return buf.length;
    }

    /** Reads until {@code need} unread bytes are buffered; false at an end of stream with none buffered. */
    private boolean fill(int need) throws IOException {
        while (end - start < need) {
            if (end == buf.length) {
                makeRoom();
            }
            beforeRead.beforeRead(end > start);
            int room = buf.length - end;
            int n = in.read(buf, end, room);
            if (n < 0) {
                if (end == start) {
                    return false;
                }
                throw new EOFException("stream ended inside a frame header");
            }
            lastReadFull = n == room;
            end += n;
        }
        return true;
    }

    /** Compacts the unread bytes to the front; doubles the buffer when they (or a full last read) call for it. */
    private void makeRoom() throws NoMemory {
        int unread = end - start;
        boolean grow = (unread > buf.length / 2 || lastReadFull) && buf.length < MAX;
        int size = grow ? Math.min(buf.length * 2, MAX) : buf.length;
        if (grow && !memory.grow(size - buf.length)) {
            if (unread < buf.length) {
                size = buf.length; // no room to grow, but room to compact: read on
            } else {
                throw new NoMemory(size);
            }
        }
        byte[] target = size > buf.length ? new byte[size] : buf;
        System.arraycopy(buf, start, target, 0, unread);
        buf = target;
        start = 0;
        end = unread;
    }
}
