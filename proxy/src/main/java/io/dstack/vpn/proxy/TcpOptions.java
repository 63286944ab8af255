package io.dstack.vpn.proxy;

import java.io.IOException;
import java.net.Socket;

/**
 * Per-connection TCP settings, the ones Mullvad's binaries offer: TCP_NODELAY, socket buffer sizes, and a
 * receive timeout after which a silent connection is closed (0 = never).
 *
 * @param recvBuffer SO_RCVBUF in bytes, 0 = the system default
 * @param sendBuffer SO_SNDBUF in bytes, 0 = the system default
 */
public record TcpOptions(boolean nodelay, int recvBuffer, int sendBuffer, int recvTimeoutSeconds) {
    public static final TcpOptions DEFAULTS = new TcpOptions(true, 0, 0, 0);

    void applyTo(Socket socket) throws IOException {
        socket.setTcpNoDelay(nodelay);
        if (recvBuffer > 0) {
            socket.setReceiveBufferSize(recvBuffer);
        }
        if (sendBuffer > 0) {
            socket.setSendBufferSize(sendBuffer);
        }
        socket.setSoTimeout(recvTimeoutSeconds * 1000);
    }
}
