package io.dstack.vpn.proxy;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;

/**
 * One accepted TCP connection of tcp2udp. Until its first frame is complete it holds only its socket, a small
 * read buffer and one virtual thread; its UDP socket, the reply direction (with a buffer for the largest
 * datagram) and the platform threads of its pumps ({@link Pumps#pumpThread}) come with that first frame, so
 * connections that never send one cost little and give way when memory runs short ({@link ConnectionLimit}).
 */
final class ServerConnection {
    private final Socket socket;
    private final InetSocketAddress forward;
    private final InetAddress udpBind;
    private final TcpOptions tcpOptions;
    private final ConnectionLimit limit;
    private final ConnectionLimit.Slot slot;
    private final ProxyMetrics metrics;
    private DatagramSocket udp;
    private Thread replies;

    ServerConnection(Socket socket, InetSocketAddress forward, InetAddress udpBind, TcpOptions tcpOptions,
            ConnectionLimit limit, ConnectionLimit.Slot slot, ProxyMetrics metrics) {
        this.socket = socket;
        this.forward = forward;
        this.udpBind = udpBind;
        this.tcpOptions = tcpOptions;
        this.limit = limit;
        this.slot = slot;
        this.metrics = metrics;
    }

    /** Forwards until either side ends; always closes everything it opened. */
    void serve() {
        try {
            tcpOptions.applyTo(socket);
            FrameDeadline deadline = tcpOptions.deadline(socket, true);
            FrameReader frames = new FrameReader(socket.getInputStream(), deadline, new FrameReader.Memory() {
                @Override
                public boolean grow(int bytes) {
                    return limit.charge(slot, bytes);
                }

                @Override
                public void shrink(int bytes) {
                    limit.refund(slot, bytes);
                }
            });
            // The first frame is awaited on this (virtual) thread; the tunnel's pump, from that frame on, runs on a
            // platform thread. The frame is only read here, not sent: a socket a virtual thread has used stays
            // non-blocking for good (then every wait costs a poll), and the UDP socket should not start that way.
            limit.listening(slot);
            try {
                if (frames.next() < 0) {
                    return;
                }
            } catch (SocketTimeoutException e) {
                metrics.timedOut(deadline.armed());
                return;
            }
            limit.proven(slot); // at once, on this thread: the pump thread may take a while to start
            deadline.frameRead();
            frames.unread();
            IOException[] failure = new IOException[1];
            Pumps.pumpThread("tcp2udp-" + socket.getRemoteSocketAddress(), () -> {
                try {
                    Pumps.tcpToUdp(frames, deadline, this::udpSocket, () -> forward, metrics);
                } catch (IOException e) {
                    failure[0] = e;
                }
            }).join();
            if (failure[0] != null) {
                throw failure[0];
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (FrameReader.NoMemory e) {
            metrics.evicted(); // a frame bigger than what the budget has room for now
        } catch (IOException e) {
            if (!socket.isClosed()) {
                metrics.error("tcp_read"); // a reset connection, or a stream cut inside a frame
            }
        } finally {
            Pumps.closeQuietly(socket);
            Pumps.closeQuietly(udp); // unblocks the reply thread
            if (replies != null) {
                try {
                    replies.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /** The first complete frame opens the UDP socket and the reply direction. */
    private DatagramSocket udpSocket() throws IOException {
        if (udp != null) {
            return udp;
        }
        if (!limit.charge(slot, ConnectionLimit.REPLY_COST)) {
            throw new FrameReader.NoMemory(ConnectionLimit.REPLY_COST_INT);
        }
        // Not connected (zero-length datagrams would vanish); replies from anyone but the forward address
        // are dropped in the pump instead.
        udp = new DatagramSocket(new InetSocketAddress(udpBind, 0));
        DatagramSocket from = udp;
        replies = Pumps.pumpThread("tcp2udp-reply-" + socket.getRemoteSocketAddress(), () -> {
            try {
                Pumps.udpToTcp(from, Pumps.FrameSink.to(socket.getOutputStream()), forward::equals, metrics);
            } catch (IOException e) {
                if (!socket.isClosed()) {
                    metrics.error("tcp_write");
                }
            } finally {
                Pumps.closeQuietly(socket); // the TCP reader ends too
            }
        });
        return udp;
    }

    void close() {
        Pumps.closeQuietly(socket);
    }
}
