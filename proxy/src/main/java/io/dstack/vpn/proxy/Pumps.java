package io.dstack.vpn.proxy;

import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The two directions of a tunnel, each a blocking loop on its own virtual thread: a frame read from TCP
 * becomes one datagram, a datagram received becomes one frame. Blocking I/O on virtual threads costs one
 * copy per datagram and no selector bookkeeping; see docs/adr/0008-proxy.md.
 */
final class Pumps {
    /** The UDP socket a frame leaves by, opened on first use (an accepted connection gets one only once it proves itself). */
    @FunctionalInterface
    interface UdpSocketSource {
        DatagramSocket get() throws IOException;
    }

    /**
     * Frames from {@code frames} to datagrams sent to {@code target}; null = nobody to send to yet (counted). The
     * socket must not be connected: the JDK silently drops zero-length datagrams on connected sockets. Returns at
     * the end of the stream or when {@code deadline} expires (counted as timed out); a datagram the UDP socket
     * refuses (too big for UDP) is counted and dropped, the stream goes on.
     */
    static void tcpToUdp(FrameReader frames, FrameDeadline deadline, UdpSocketSource udp, Supplier<SocketAddress> target,
            ProxyMetrics metrics) throws IOException {
        DatagramPacket packet = new DatagramPacket(new byte[0], 0);
        while (true) {
            int length;
            try {
                length = frames.next();
            } catch (SocketTimeoutException e) {
                metrics.timedOut(deadline.armed());
                return;
            }
            if (length < 0) {
                return;
            }
            deadline.frameRead();
            SocketAddress to = target.get();
            if (to == null) {
                metrics.error("no_udp_client"); // nobody has sent us a datagram yet: no one to deliver to
                continue;
            }
            DatagramSocket socket = udp.get();
            packet.setData(frames.buffer(), frames.offset(), length);
            packet.setSocketAddress(to);
            try {
                socket.send(packet);
                metrics.tcpToUdp(length);
            } catch (IOException e) {
                if (socket.isClosed()) {
                    return;
                }
                metrics.error("udp_send");
            }
        }
    }

    /** Where a framed datagram goes; false = it was dropped (already counted as an error). */
    @FunctionalInterface
    interface FrameSink {
        boolean send(byte[] frame, int payloadLength) throws IOException;

        static FrameSink to(OutputStream out) {
            return (frame, length) -> {
                Framing.writeFrame(out, frame, length);
                return true;
            };
        }
    }

    /**
     * Datagrams arriving on {@code udp} to frames for {@code sink}, until either side closes. A datagram whose
     * source {@code acceptSource} refuses is dropped and counted.
     */
    static void udpToTcp(DatagramSocket udp, FrameSink sink, Predicate<SocketAddress> acceptSource, ProxyMetrics metrics)
            throws IOException {
        byte[] frame = new byte[Framing.HEADER + Framing.MAX_PAYLOAD];
        DatagramPacket packet = new DatagramPacket(frame, Framing.HEADER, Framing.MAX_PAYLOAD);
        while (true) {
            packet.setData(frame, Framing.HEADER, Framing.MAX_PAYLOAD);
            udp.receive(packet);
            if (!acceptSource.test(packet.getSocketAddress())) {
                metrics.error("foreign_datagram");
                continue;
            }
            if (sink.send(frame, packet.getLength())) {
                metrics.udpToTcp(packet.getLength());
            }
        }
    }

    /**
     * A thread for a tunnel's pump. Platform, not virtual: a hot tunnel blocks and wakes once per datagram, and on a
     * platform thread that is one system call, while a virtual thread adds a poller registration, a poller wake-up
     * and a carrier hand-off each time (measured: ~1.4× the throughput at one tunnel, docs/benchmarks.md). Threads
     * cost memory, so only tunnels get them: connections that have not completed a frame wait on virtual threads.
     */
    static Thread pumpThread(String name, Runnable pump) {
        return Thread.ofPlatform().name(name).daemon().stackSize(256 * 1024).start(pump);
    }

    static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception ignored) {
            // closing to unblock the other direction; nothing left to do with an error here
        }
    }

    private Pumps() {
    }
}
