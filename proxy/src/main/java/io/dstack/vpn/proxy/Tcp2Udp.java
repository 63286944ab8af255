package io.dstack.vpn.proxy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The server side: accepts TCP connections and gives each its own UDP socket, which sends only to the one
 * configured forward address (not an open relay) and passes back only what comes from that address. Anyone
 * who reaches the port may connect, so what a connection may cost is bounded: see {@link ServerConnection},
 * {@link ConnectionLimit} and {@link FrameDeadline}.
 */
public final class Tcp2Udp implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Tcp2Udp.class.getName());

    private final List<ServerSocket> listeners = new ArrayList<>();
    private final InetSocketAddress forward;
    private final InetAddress udpBind;
    private final TcpOptions tcpOptions;
    private final ConnectionLimit limit;
    private final ProxyMetrics metrics;
    private final Set<ServerConnection> connections = ConcurrentHashMap.newKeySet();
    private volatile boolean closing;

    /**
     * @param udpBind the local address of the per-connection UDP sockets; null = the wildcard address
     * @param maxConnections connections held at once (0 = as many as half the heap carries, and never more)
     */
    public Tcp2Udp(List<InetSocketAddress> listen, InetSocketAddress forward, InetAddress udpBind, TcpOptions tcpOptions,
            int maxConnections, ProxyMetrics metrics) throws IOException {
        this(listen, forward, udpBind, tcpOptions, maxConnections, ConnectionLimit.budgetOf(Runtime.getRuntime().maxMemory()), metrics);
    }

    /**
     * @param memoryBudget what the connections may hold together, in bytes (a proxy of its own takes half its heap;
     *                     one that shares a JVM, such as the agent's, gets a share)
     */
    public Tcp2Udp(List<InetSocketAddress> listen, InetSocketAddress forward, InetAddress udpBind, TcpOptions tcpOptions,
            int maxConnections, long memoryBudget, ProxyMetrics metrics) throws IOException {
        if (forward.isUnresolved()) {
            throw new IllegalArgumentException("cannot resolve the forward address " + forward.getHostString());
        }
        this.forward = forward;
        this.udpBind = udpBind;
        this.tcpOptions = tcpOptions;
        this.limit = new ConnectionLimit(memoryBudget, maxConnections);
        if (maxConnections > limit.maxConnections()) {
            LOG.log(System.Logger.Level.WARNING, "--max-connections {0} is more than a memory budget of {1} MiB carries: using {2}",
                    maxConnections, memoryBudget >> 20, limit.maxConnections());
        }
        this.metrics = metrics;
        metrics.connectionLimit(limit.maxConnections());
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

    /** The connections held at once, at most. */
    public int connectionLimit() {
        return limit.maxConnections();
    }

    private void acceptLoop(ServerSocket server) {
        while (!closing) {
            try {
                acceptOne(server);
            } catch (Throwable e) { // even an Error: a proxy that stops accepting serves nobody
                if (closing) {
                    return;
                }
                metrics.error("tcp_accept");
                LOG.log(System.Logger.Level.WARNING, "accept failed: {0}", e.toString());
                pause(); // e.g. out of file descriptors: do not spin
            }
        }
    }

    private void acceptOne(ServerSocket server) throws IOException {
        Socket socket = server.accept();
        ConnectionLimit.Slot slot = closing ? null : limit.admit(() -> {
            metrics.evicted();
            Pumps.closeQuietly(socket); // its serving thread ends and releases nothing: the slot is passed on
        });
        if (slot == null) {
            metrics.rejected();
            Pumps.closeQuietly(socket);
            return;
        }
        ServerConnection connection = new ServerConnection(socket, forward, udpBind, tcpOptions, limit, slot, metrics);
        connections.add(connection);
        metrics.opened();
        try {
            Thread.ofVirtual().name("tcp2udp-" + socket.getRemoteSocketAddress()).start(() -> {
                try {
                    connection.serve();
                } finally {
                    finished(connection, slot);
                }
            });
        } catch (Throwable e) {
            finished(connection, slot);
            connection.close();
            throw e;
        }
    }

    private void finished(ServerConnection connection, ConnectionLimit.Slot slot) {
        connections.remove(connection);
        limit.release(slot);
        metrics.closed();
    }

    private static void pause() {
        try {
            Thread.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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
        connections.forEach(ServerConnection::close);
    }

    @Override
    public void close() {
        shutdown(0, TimeUnit.SECONDS);
    }
}
