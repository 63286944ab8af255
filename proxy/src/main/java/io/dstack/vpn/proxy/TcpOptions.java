package io.dstack.vpn.proxy;

import java.io.IOException;
import java.net.Socket;

/**
 * Per-connection TCP settings: the ones Mullvad's binaries offer (TCP_NODELAY, socket buffer sizes, a receive
 * timeout after which a silent connection is closed, 0 = never), and ours: the time a frame may take to arrive
 * once begun, and the first frame of an accepted connection (0 = no limit; see {@link FrameDeadline}).
 *
 * @param recvBuffer SO_RCVBUF in bytes, 0 = the system default
 * @param sendBuffer SO_SNDBUF in bytes, 0 = the system default
 */
public record TcpOptions(boolean nodelay, int recvBuffer, int sendBuffer, int recvTimeoutSeconds, int frameTimeoutSeconds) {
    /** Generous for a 64 KiB frame on a slow link; short enough that stalled clients do not pile up. */
    public static final int DEFAULT_FRAME_TIMEOUT_SECONDS = 10;
    public static final TcpOptions DEFAULTS = new TcpOptions(true, 0, 0, 0);

    public TcpOptions(boolean nodelay, int recvBuffer, int sendBuffer, int recvTimeoutSeconds) {
        this(nodelay, recvBuffer, sendBuffer, recvTimeoutSeconds, DEFAULT_FRAME_TIMEOUT_SECONDS);
    }

    void applyTo(Socket socket) throws IOException {
        socket.setTcpNoDelay(nodelay);
        if (recvBuffer > 0) {
            socket.setReceiveBufferSize(recvBuffer);
        }
        if (sendBuffer > 0) {
            socket.setSendBufferSize(sendBuffer);
        }
    }

    /**
     * The read deadlines of {@code socket}. {@code accepted}: the peer is anyone, owes us a first frame, and each
     * frame within the frame timeout. Otherwise (udp2tcp, the server we chose) only the idle timeout: a timed read
     * turns a JDK socket non-blocking for good, and every later wait then costs an extra poll.
     */
    FrameDeadline deadline(Socket socket, boolean accepted) {
        return new FrameDeadline(socket, accepted ? frameTimeoutSeconds : 0, recvTimeoutSeconds, accepted);
    }
}
