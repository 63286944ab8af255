package io.dstack.vpn.agent.proxy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.dstack.vpn.proxy.Addresses;
import io.dstack.vpn.proxy.NodeProxy;
import io.dstack.vpn.proxy.ProxyMetrics;
import io.dstack.vpn.proxy.Tcp2Udp;
import io.dstack.vpn.proxy.TcpOptions;

/**
 * The node proxy inside the agent's own JVM: one process per node instead of two (issue 19; the child JVM cost
 * 50–60 MiB). It is the same tcp2udp server and udp2tcp tunnels as {@code dstack-vpn-proxy node}, called directly.
 * Only where the agent runs in the node's network namespace (on a node; a simulation whose agent runs on the host
 * uses {@link NodeProxyProcess}). Its connections get a quarter of the agent's heap: the 16 MiB the child proxy
 * had at the agent's {@code -Xmx64m}.
 */
public final class InProcessNodeProxy implements NodeTunnels {
    private static final Logger LOG = LoggerFactory.getLogger(InProcessNodeProxy.class);

    /** Null when the node takes no connections (no endpoint). */
    private final Tcp2Udp server;
    private final NodeProxy tunnels;
    private final Consumer<ProxyMetrics> metricsSink;
    private volatile boolean closed;

    private InProcessNodeProxy(Tcp2Udp server, NodeProxy tunnels, Consumer<ProxyMetrics> metricsSink) {
        this.server = server;
        this.tunnels = tunnels;
        this.metricsSink = metricsSink;
    }

    /** What the proxy's connections may hold together: a quarter of this JVM's heap. */
    static long memoryBudget() {
        return Runtime.getRuntime().maxMemory() / 4;
    }

    /**
     * @param metricsSink told the proxy's metrics once it runs, and null once it stops (the agent serves them on its
     *                    own /metrics while it runs)
     */
    public static Launcher launcher(Consumer<ProxyMetrics> metricsSink) {
        return launcher(metricsSink, true);
    }

    /**
     * @param listen false for a node no one can dial: it has no endpoint in the peer set (a standalone node behind
     *               NAT), so no peer would ever connect to its proxy port, and the port stays free on its host. Its
     *               own tunnels to the others work as before.
     */
    public static Launcher launcher(Consumer<ProxyMetrics> metricsSink, boolean listen) {
        return (tcpPort, wireGuardPort) -> {
            ProxyMetrics metrics = new ProxyMetrics();
            Tcp2Udp server = null;
            if (listen) {
                server = new Tcp2Udp(List.of(Addresses.parse("0.0.0.0:" + tcpPort)), new InetSocketAddress(InetAddress.getLoopbackAddress(), wireGuardPort),
                        InetAddress.getLoopbackAddress(), TcpOptions.DEFAULTS, 0, memoryBudget(), metrics);
                LOG.info("node proxy started in the agent: TCP :{} -> WireGuard 127.0.0.1:{} (at most {} connections)", tcpPort,
                        wireGuardPort, server.connectionLimit());
            } else {
                LOG.info("node proxy started in the agent without a listener (this node has no endpoint: no one dials it); tunnels only");
            }
            metricsSink.accept(metrics);
            return new InProcessNodeProxy(server, new NodeProxy(InetAddress.getLoopbackAddress(), TcpOptions.DEFAULTS, metrics), metricsSink);
        };
    }

    @Override
    public int open(String id, String target) throws IOException {
        try {
            return tunnels.open(id, Addresses.parse(target));
        } catch (IllegalArgumentException e) {
            throw new IOException("the node proxy could not open a tunnel to " + target + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close(String id) {
        tunnels.close(id);
    }

    @Override
    public Map<String, Long> dials() {
        return tunnels.dials();
    }

    @Override
    public boolean alive() {
        return !closed;
    }

    @Override
    public void close() {
        closed = true;
        tunnels.close();
        if (server != null) {
            server.close();
        }
        metricsSink.accept(null);
    }
}
