package io.dstack.vpn.proxy;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** A UDP echo server on loopback standing in for WireGuard; remembers which sources it heard from. */
final class UdpEcho implements AutoCloseable {
    final DatagramSocket socket;
    final Set<SocketAddress> sources = ConcurrentHashMap.newKeySet();

    UdpEcho() throws IOException {
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

    InetSocketAddress address() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    @Override
    public void close() {
        socket.close();
    }
}
