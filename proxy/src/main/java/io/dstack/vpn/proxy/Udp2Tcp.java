package io.dstack.vpn.proxy;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;

/**
 * The client side: a local UDP socket whose datagrams travel over one TCP connection to a tcp2udp server;
 * frames coming back are sent to whoever sent the last datagram (WireGuard, on this node). The connection
 * is opened by the first datagram and re-opened by the next one after it fails, so WireGuard's own
 * handshake retries pace the reconnects.
 */
public final class Udp2Tcp implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Udp2Tcp.class.getName());
    static final int CONNECT_TIMEOUT_MS = 5_000;

    private final DatagramSocket udp;
    private final InetSocketAddress tcpForward;
    private final TcpOptions tcpOptions;
    private final ProxyMetrics metrics;
    private volatile SocketAddress client;
    private volatile Socket tcp;
    private volatile boolean closed;
    /** TCP connections opened so far: more than one means the far end dropped us and we dialled it again. */
    private final java.util.concurrent.atomic.AtomicLong connectionsOpened = new java.util.concurrent.atomic.AtomicLong();

    public Udp2Tcp(InetSocketAddress udpListen, InetSocketAddress tcpForward, TcpOptions tcpOptions, ProxyMetrics metrics)
            throws SocketException {
        this.udp = new DatagramSocket(udpListen);
        this.tcpForward = tcpForward;
        this.tcpOptions = tcpOptions;
        this.metrics = metrics;
        Pumps.pumpThread("udp2tcp-" + udp.getLocalPort(), this::forwardDatagrams);
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) udp.getLocalSocketAddress();
    }

    public InetSocketAddress tcpForward() {
        return tcpForward;
    }

    private void forwardDatagrams() {
        while (!closed) {
            try {
                Pumps.udpToTcp(udp, this::sendFrame, this::rememberClient, metrics);
            } catch (IOException e) {
                if (!closed) {
                    metrics.error("udp_receive");
                }
            }
        }
    }

    /** Replies go to whoever sent the newest datagram (WireGuard on this node: its port can change). */
    private boolean rememberClient(SocketAddress sender) {
        client = sender;
        return true;
    }

    private boolean sendFrame(byte[] frame, int length) {
        Socket s = connection();
        if (s == null) {
            return false;
        }
        try {
            Framing.writeFrame(s.getOutputStream(), frame, length);
            return true;
        } catch (IOException e) {
            drop(s, "tcp_write");
            return false;
        }
    }

    /** The open connection, or a new one; null when connecting failed (counted; the next datagram retries). */
    private Socket connection() {
        Socket s = tcp;
        if (s != null && !s.isClosed()) {
            return s;
        }
        s = new Socket();
        try {
            tcpOptions.applyTo(s);
            s.connect(tcpForward, CONNECT_TIMEOUT_MS);
        } catch (IOException e) {
            Pumps.closeQuietly(s);
            metrics.error("tcp_connect");
            LOG.log(System.Logger.Level.DEBUG, "connecting to {0} failed: {1}", tcpForward, e.getMessage());
            return null;
        }
        tcp = s;
        connectionsOpened.incrementAndGet();
        metrics.opened();
        Socket opened = s;
        Pumps.pumpThread("udp2tcp-reply-" + udp.getLocalPort(), () -> {
            try {
                FrameDeadline deadline = tcpOptions.deadline(opened, false);
                Pumps.tcpToUdp(new FrameReader(opened.getInputStream(), deadline), deadline, () -> udp, () -> client, metrics);
                drop(opened, null);
            } catch (IOException e) {
                drop(opened, "tcp_read");
            }
        });
        return s;
    }

    /**
     * How many TCP connections this tunnel has opened. A second one usually means the far proxy restarted, and
     * with it, very likely, the far WireGuard: the agent then renews its session with that peer.
     */
    public long connectionsOpened() {
        return connectionsOpened.get();
    }

    private void drop(Socket s, String errorKind) {
        synchronized (this) {
            if (s.isClosed()) {
                return;
            }
            Pumps.closeQuietly(s);
            if (tcp == s) {
                tcp = null;
            }
        }
        if (errorKind != null && !closed) {
            metrics.error(errorKind);
        }
        metrics.closed();
    }

    @Override
    public void close() {
        closed = true;
        Pumps.closeQuietly(udp);
        Socket s = tcp;
        if (s != null) {
            drop(s, null);
        }
    }
}
