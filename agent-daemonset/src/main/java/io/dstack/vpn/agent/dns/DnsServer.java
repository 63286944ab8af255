package io.dstack.vpn.agent.dns;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.concurrent.Semaphore;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The responder on this network namespace's sockets: UDP (what resolvers use) and TCP (what they fall back to), on
 * the same address and port. One virtual thread reads UDP; each TCP connection gets a virtual thread, at most
 * {@link #MAX_TCP_CONNECTIONS} at once, each closed after {@link #TCP_LIFETIME_MILLIS} or when idle, so a client
 * that dribbles bytes holds nothing for long.
 */
final class DnsServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DnsServer.class);
    static final int MAX_TCP_CONNECTIONS = 64;
    static final int TCP_IDLE_MILLIS = 5_000;
    static final long TCP_LIFETIME_MILLIS = 30_000;
    /** Queries are small; a larger datagram is cut here, and the question, which comes first, survives. */
    static final int UDP_BUFFER = 1500;
    /** Longest TCP message read; a longer length prefix closes the connection. */
    static final int MAX_TCP_MESSAGE = 4096;

    private final DatagramChannel udp;
    private final ServerSocket tcp;
    private final DnsResponder responder;
    private final DnsMetrics metrics;
    private final Semaphore tcpSlots = new Semaphore(MAX_TCP_CONNECTIONS);
    private volatile boolean closed;

    private DnsServer(DatagramChannel udp, ServerSocket tcp, DnsResponder responder, DnsMetrics metrics) {
        this.udp = udp;
        this.tcp = tcp;
        this.responder = responder;
        this.metrics = metrics;
    }

    /**
     * Binds UDP, then TCP on the same port, and starts serving. Port 0 (tests): a port the system chose for UDP that
     * is free for TCP too (a few tries: the same number may be taken for TCP).
     */
    static DnsServer start(InetSocketAddress bind, DnsResponder responder, DnsMetrics metrics) throws IOException {
        for (int attempt = 1; ; attempt++) {
            try {
                return bindBoth(bind, responder, metrics);
            } catch (java.net.BindException e) {
                if (bind.getPort() != 0 || attempt == 10) {
                    throw e;
                }
            }
        }
    }

    private static DnsServer bindBoth(InetSocketAddress bind, DnsResponder responder, DnsMetrics metrics) throws IOException {
        DatagramChannel udp = DatagramChannel.open();
        ServerSocket tcp = null;
        try {
            udp.bind(bind);
            tcp = new ServerSocket();
            tcp.setReuseAddress(true);
            tcp.bind(new InetSocketAddress(bind.getAddress(), ((InetSocketAddress) udp.getLocalAddress()).getPort()), 64);
        } catch (IOException | RuntimeException e) {
            udp.close();
            if (tcp != null) {
                tcp.close();
            }
            throw e;
        }
        DnsServer server = new DnsServer(udp, tcp, responder, metrics);
        metrics.up(true);
        Thread.ofVirtual().name("dns-udp").start(server::udpLoop);
        Thread.ofVirtual().name("dns-tcp-accept").start(server::acceptLoop);
        return server;
    }

    int port() {
        return tcp.getLocalPort();
    }

    private void udpLoop() {
        ByteBuffer in = ByteBuffer.allocate(UDP_BUFFER);
        while (!closed) {
            try {
                in.clear();
                InetSocketAddress from = (InetSocketAddress) udp.receive(in);
                byte[] response = responder.respond(in.array(), in.position(), from.getAddress());
                if (response != null) {
                    udp.send(ByteBuffer.wrap(response), from);
                }
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException | RuntimeException e) {
                // One bad send (an unreachable client) must not end the loop.
                if (!closed) {
                    LOG.debug("DNS over UDP: {}", e.toString());
                }
            }
        }
    }

    private void acceptLoop() {
        while (!closed) {
            Socket s;
            try {
                s = tcp.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("DNS over TCP: accept failed: {}", e.toString());
                }
                return;
            }
            if (!tcpSlots.tryAcquire()) {
                metrics.dropped(DnsMetrics.Dropped.BUSY);
                closeQuietly(s);
                continue;
            }
            Thread.ofVirtual().name("dns-tcp").start(() -> {
                try {
                    serveTcp(s);
                } finally {
                    tcpSlots.release();
                    closeQuietly(s);
                }
            });
        }
    }

    /** RFC 1035 §4.2.2 / RFC 7766: each message prefixed by its 16-bit length; several queries per connection. */
    private void serveTcp(Socket s) {
        long deadline = System.currentTimeMillis() + TCP_LIFETIME_MILLIS;
        try {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            byte[] prefix = new byte[2];
            while (!closed) {
                readFully(s, in, prefix, 2, deadline);
                int length = DnsMessage.u16(prefix, 0);
                if (length > MAX_TCP_MESSAGE) {
                    metrics.dropped(DnsMetrics.Dropped.MALFORMED);
                    return;
                }
                byte[] query = new byte[length];
                readFully(s, in, query, length, deadline);
                byte[] response = responder.respond(query, length, s.getInetAddress());
                if (response == null) {
                    return; // dropped: nothing to say on this connection either
                }
                byte[] framed = new byte[2 + response.length];
                framed[0] = (byte) (response.length >> 8);
                framed[1] = (byte) response.length;
                System.arraycopy(response, 0, framed, 2, response.length);
                out.write(framed);
                out.flush();
            }
        } catch (EOFException | SocketTimeoutException e) {
            // the client is done, idle or too slow
        } catch (IOException e) {
            LOG.debug("DNS over TCP from {}: {}", s.getInetAddress(), e.toString());
        }
    }

    /**
     * Reads exactly {@code n} bytes, each read waiting at most the idle time and never past the connection's
     * deadline: one byte every few seconds does not keep a connection open longer than {@link #TCP_LIFETIME_MILLIS}.
     */
    private static void readFully(Socket s, InputStream in, byte[] buf, int n, long deadline) throws IOException {
        int got = 0;
        while (got < n) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                throw new SocketTimeoutException("connection lifetime over");
            }
            s.setSoTimeout((int) Math.min(TCP_IDLE_MILLIS, left));
            int r = in.read(buf, got, n - got);
            if (r < 0) {
                throw new EOFException();
            }
            got += r;
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // nothing left to do
        }
    }

    @Override
    public void close() {
        closed = true;
        metrics.up(false);
        try {
            udp.close();
        } catch (IOException e) {
            // closing
        }
        try {
            tcp.close();
        } catch (IOException e) {
            // closing
        }
    }
}
