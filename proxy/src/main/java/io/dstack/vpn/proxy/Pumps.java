package io.dstack.vpn.proxy;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Socket;
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
    /** TCP reads are buffered: one read() system call picks up every frame the peer coalesced. */
    static final int TCP_READ_BUFFER = 256 * 1024;

    /**
     * Frames from {@code tcp} to datagrams sent to {@code target}; null = nobody to send to yet (counted). The
     * socket must not be connected: the JDK silently drops zero-length datagrams on connected sockets. Returns at
     * the end of the stream; a datagram the UDP socket refuses (too big for UDP) is counted and dropped, the
     * stream goes on.
     */
    static void tcpToUdp(Socket tcp, DatagramSocket udp, Supplier<SocketAddress> target, ProxyMetrics metrics)
            throws IOException {
        InputStream in = new BufferedInputStream(tcp.getInputStream(), TCP_READ_BUFFER);
        byte[] buf = new byte[Framing.MAX_PAYLOAD];
        DatagramPacket packet = new DatagramPacket(buf, 0);
        while (true) {
            int length;
            try {
                length = Framing.readFrame(in, buf);
            } catch (SocketTimeoutException e) {
                metrics.error("tcp_recv_timeout");
                return;
            }
            if (length < 0) {
                return;
            }
            SocketAddress to = target.get();
            if (to == null) {
                metrics.error("no_udp_client"); // nobody has sent us a datagram yet: no one to deliver to
                continue;
            }
            packet.setData(buf, 0, length);
            packet.setSocketAddress(to);
            try {
                udp.send(packet);
                metrics.tcpToUdp(length);
            } catch (IOException e) {
                if (udp.isClosed()) {
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
