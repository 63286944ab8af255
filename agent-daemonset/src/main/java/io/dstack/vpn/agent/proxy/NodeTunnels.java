package io.dstack.vpn.agent.proxy;

import java.io.IOException;

/** The node's running proxy: its tcp2udp server is implied; udp2tcp tunnels are opened and closed by id. */
public interface NodeTunnels extends AutoCloseable {

    /** Opens (or keeps) the tunnel {@code id} to {@code target} (host:port); returns its local UDP port. */
    int open(String id, String target) throws IOException;

    void close(String id) throws IOException;

    boolean alive();

    /**
     * Per open tunnel id, how many TCP connections it has opened so far. A count that grows past one means the
     * far proxy dropped the tunnel and it dialled again.
     */
    java.util.Map<String, Long> dials() throws IOException;

    /** Stops the proxy; its tunnels and connections end. */
    @Override
    void close();

    /** Starts a node proxy listening on {@code tcpPort} and forwarding to this node's WireGuard on {@code wireGuardPort}. */
    @FunctionalInterface
    interface Launcher {
        NodeTunnels start(int tcpPort, int wireGuardPort) throws IOException;
    }
}
