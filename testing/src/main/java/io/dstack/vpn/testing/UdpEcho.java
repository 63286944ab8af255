package io.dstack.vpn.testing;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** A UDP echo server on loopback standing in for WireGuard; remembers which sources it heard from. */
public final class UdpEcho implements AutoCloseable {
    public final DatagramSocket socket;
    public final Set<SocketAddress> sources = ConcurrentHashMap.newKeySet();

    public UdpEcho() throws IOException {
        socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        socket.setReceiveBufferSize(4 << 20);
        socket.setSendBufferSize(4 << 20);
        Thread.ofVirtual().start(() -> {
            byte[] buf = new byte[65535];
            DatagramPacket packet = new DatagramPacket(buf, buf.length);
            while (!socket.isClosed()) {
                try {
                    packet.setData(buf);
                    socket.receive(packet);
                    sources.add(packet.getSocketAddress());
                    socket.send(packet);
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    public int port() {
        return socket.getLocalPort();
    }

    @Override
    public void close() {
        socket.close();
    }
}
