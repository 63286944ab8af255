package io.dstack.vpn.proxy;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The server side: accepts TCP connections and gives each its own UDP socket, which sends only to the one
 * configured forward address (not an open relay) and passes back only what comes from that address.
 */
public final class Tcp2Udp implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Tcp2Udp.class.getName());

    private final List<ServerSocket> listeners = new ArrayList<>();
    private final InetSocketAddress forward;
    private final InetAddress udpBind;
    private final TcpOptions tcpOptions;
    private final Semaphore slots;
    private final ProxyMetrics metrics;
    private final Set<Socket> connections = ConcurrentHashMap.newKeySet();
    private volatile boolean closing;

    /**
     * @param udpBind the local address of the per-connection UDP sockets; null = the wildcard address
     * @param maxConnections connections beyond this are closed at once and counted as rejected
     */
    public Tcp2Udp(List<InetSocketAddress> listen, InetSocketAddress forward, InetAddress udpBind, TcpOptions tcpOptions,
            int maxConnections, ProxyMetrics metrics) throws IOException {
        if (forward.isUnresolved()) {
            throw new IllegalArgumentException("cannot resolve the forward address " + forward.getHostString());
        }
        this.forward = forward;
        this.udpBind = udpBind;
        this.tcpOptions = tcpOptions;
        this.slots = new Semaphore(maxConnections);
        this.metrics = metrics;
        try {
            for (InetSocketAddress address : listen) {
                ServerSocket server = new ServerSocket();
                server.setReuseAddress(true);
                listeners.add(server);
                server.bind(address, 1024);
            }
        } catch (IOException e) {
            listeners.forEach(Pumps::closeQuietly);
            throw e;
        }
        for (ServerSocket server : listeners) {
            Thread.ofVirtual().name("tcp2udp-accept-" + server.getLocalPort()).start(() -> acceptLoop(server));
        }
    }

    public List<InetSocketAddress> boundAddresses() {
        return listeners.stream().map(s -> (InetSocketAddress) s.getLocalSocketAddress()).toList();
    }

    private void acceptLoop(ServerSocket server) {
        while (!closing) {
            Socket socket;
            try {
                socket = server.accept();
            } catch (IOException e) {
                if (!closing) {
                    metrics.error("tcp_accept");
                    LOG.log(System.Logger.Level.WARNING, "accept failed: {0}", e.getMessage());
                }
                continue;
            }
            if (closing || !slots.tryAcquire()) {
                metrics.rejected();
                Pumps.closeQuietly(socket);
                continue;
            }
            Thread.ofVirtual().name("tcp2udp-" + socket.getRemoteSocketAddress()).start(() -> serve(socket));
        }
    }

    private void serve(Socket socket) {
        connections.add(socket);
        metrics.opened();
        DatagramSocket udp = null;
        Thread back = null;
        try {
            tcpOptions.applyTo(socket);
            // Not connected (zero-length datagrams would vanish); replies from anyone but the forward address
            // are dropped in the pump instead.
            udp = new DatagramSocket(new InetSocketAddress(udpBind, 0));
            DatagramSocket replies = udp;
            back = Thread.ofVirtual().start(() -> {
                try {
                    Pumps.udpToTcp(replies, Pumps.FrameSink.to(socket.getOutputStream()), forward::equals, metrics);
                } catch (IOException e) {
                    if (!socket.isClosed()) {
                        metrics.error("tcp_write");
                    }
                } finally {
                    Pumps.closeQuietly(socket); // the TCP reader below ends too
                }
            });
            Pumps.tcpToUdp(socket, udp, () -> forward, metrics);
        } catch (IOException e) {
            if (!socket.isClosed()) {
                metrics.error("tcp_read"); // a reset connection, or a stream cut inside a frame
            }
        } finally {
            Pumps.closeQuietly(socket);
            Pumps.closeQuietly(udp); // unblocks the reply thread
            if (back != null) {
                try {
                    back.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            connections.remove(socket);
            metrics.closed();
            slots.release();
        }
    }

    /** Stops accepting at once, lets open connections run for up to {@code grace}, then closes them. */
    public void shutdown(long grace, TimeUnit unit) {
        closing = true;
        listeners.forEach(Pumps::closeQuietly);
        long deadline = System.nanoTime() + unit.toNanos(grace);
        while (!connections.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        connections.forEach(Pumps::closeQuietly);
    }

    @Override
    public void close() {
        shutdown(0, TimeUnit.SECONDS);
    }
}
