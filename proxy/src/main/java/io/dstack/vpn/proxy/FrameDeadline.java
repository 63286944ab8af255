package io.dstack.vpn.proxy;

import java.io.IOException;
import java.net.Socket;
import java.net.SocketTimeoutException;

/**
 * The read timeouts of one TCP connection, set on its socket before every read: a frame that has begun must
 * complete within the frame timeout, and so must the first frame of a connection we accepted (counted from the
 * accept), so a client that connects and stalls, or sends half a frame and stalls, is closed. Between frames
 * the idle timeout ({@code --tcp-recv-timeout-secs}, 0 = never) applies: WireGuard tunnels may be quiet for long.
 */
final class FrameDeadline implements FrameReader.BeforeRead {
    static final String FRAME = "frame";
    static final String IDLE = "idle";

    private final Socket socket;
    private final long frameTimeoutNanos;
    private final int idleTimeoutMillis;
    private boolean firstFrameDone;
    /** When the frame being read began (or the connection, before its first frame); 0 = between frames. */
    private long frameStart;
    private String armed = IDLE;

    /**
     * @param awaitFirstFrame true on the accepting side: the first frame is due within the frame timeout of now
     */
    FrameDeadline(Socket socket, int frameTimeoutSeconds, int idleTimeoutSeconds, boolean awaitFirstFrame) {
        this.socket = socket;
        this.frameTimeoutNanos = frameTimeoutSeconds * 1_000_000_000L;
        this.idleTimeoutMillis = idleTimeoutSeconds * 1000;
        this.firstFrameDone = !awaitFirstFrame;
        this.frameStart = awaitFirstFrame ? System.nanoTime() : 0;
    }

    @Override
    public void beforeRead(boolean insideFrame) throws IOException {
        if (frameTimeoutNanos == 0 || (firstFrameDone && !insideFrame)) {
            frameStart = 0;
            armed = IDLE;
            socket.setSoTimeout(idleTimeoutMillis);
            return;
        }
        long now = System.nanoTime();
        if (frameStart == 0) {
            frameStart = now;
        }
        long leftMillis = (frameStart + frameTimeoutNanos - now) / 1_000_000;
        armed = FRAME;
        if (leftMillis <= 0) {
            throw new SocketTimeoutException("frame not completed within " + frameTimeoutNanos / 1_000_000_000 + " s");
        }
        socket.setSoTimeout((int) Math.min(leftMillis, Integer.MAX_VALUE));
    }

    /** A whole frame arrived. */
    void frameRead() {
        firstFrameDone = true;
        frameStart = 0;
    }

    /** Which deadline a {@link SocketTimeoutException} of the last read came from: {@link #FRAME} or {@link #IDLE}. */
    String armed() {
        return armed;
    }
}
