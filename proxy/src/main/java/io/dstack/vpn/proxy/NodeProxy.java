package io.dstack.vpn.proxy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The per-node proxy the agent runs next to WireGuard (in the node's network namespace): a tcp2udp server
 * that forwards only to this node's own WireGuard port, plus udp2tcp tunnels the agent opens and closes by
 * writing lines on our standard input, one per remote peer this node must reach over TCP:
 *
 * <pre>
 *   tunnel &lt;id&gt; &lt;host:port&gt;   → "tunnel &lt;id&gt; &lt;local udp port&gt;" (WireGuard's endpoint for that peer is 127.0.0.1:port)
 *   close &lt;id&gt;               → "closed &lt;id&gt;"
 *   dials                    → "dials &lt;id&gt;=&lt;TCP connections opened&gt; ..." (one pair per open tunnel)
 *   a bad line                 → "error &lt;id or -&gt; &lt;message&gt;"
 * </pre>
 *
 * The end of standard input (the agent is gone) stops the proxy. The agent on a node calls {@link #open},
 * {@link #close(String)} and {@link #dials} directly instead, with the proxy in its own JVM.
 */
public final class NodeProxy implements AutoCloseable {
    private final InetAddress tunnelBind;
    private final TcpOptions tcpOptions;
    private final ProxyMetrics metrics;
    private final Map<String, Udp2Tcp> tunnels = new ConcurrentHashMap<>();

    public NodeProxy(InetAddress tunnelBind, TcpOptions tcpOptions, ProxyMetrics metrics) {
        this.tunnelBind = tunnelBind;
        this.tcpOptions = tcpOptions;
        this.metrics = metrics;
    }

    /** Serves control lines until the end of {@code in}. */
    public void serve(BufferedReader in, PrintStream out) throws IOException {
        String line;
        while ((line = in.readLine()) != null) {
            out.println(handle(line.trim()));
            out.flush();
        }
    }

    String handle(String line) {
        String[] words = line.split("\\s+");
        String id = words.length > 1 ? words[1] : "-";
        try {
            if (words.length == 3 && words[0].equals("tunnel")) {
                return "tunnel " + id + " " + open(id, Addresses.parse(words[2]));
            }
            if (words.length == 2 && words[0].equals("close")) {
                close(id);
                return "closed " + id;
            }
            if (words.length == 1 && words[0].equals("dials")) {
                StringBuilder reply = new StringBuilder("dials");
                dials().forEach((tunnelId, count) -> reply.append(' ').append(tunnelId).append('=').append(count));
                return reply.toString();
            }
            return "error " + id + " expected 'tunnel <id> <host:port>', 'close <id>' or 'dials'";
        } catch (IOException | IllegalArgumentException e) {
            return "error " + id + " " + e.getMessage();
        }
    }

    /** Opens (or keeps, when its target is the same) the tunnel {@code id} to {@code target}; returns its local UDP port. */
    public synchronized int open(String id, InetSocketAddress target) throws IOException {
        Udp2Tcp existing = tunnels.get(id);
        if (existing != null && existing.tcpForward().equals(target)) {
            return existing.localAddress().getPort();
        }
        Udp2Tcp tunnel = new Udp2Tcp(new InetSocketAddress(tunnelBind, 0), target, tcpOptions, metrics);
        Udp2Tcp replaced = tunnels.put(id, tunnel);
        if (replaced != null) {
            replaced.close();
        }
        return tunnel.localAddress().getPort();
    }

    public synchronized void close(String id) {
        Udp2Tcp tunnel = tunnels.remove(id);
        if (tunnel != null) {
            tunnel.close();
        }
    }

    /** Per open tunnel id, the TCP connections it has opened so far. */
    public Map<String, Long> dials() {
        Map<String, Long> out = new java.util.TreeMap<>();
        tunnels.forEach((id, tunnel) -> out.put(id, tunnel.connectionsOpened()));
        return out;
    }

    public int tunnelCount() {
        return tunnels.size();
    }

    @Override
    public synchronized void close() {
        tunnels.values().forEach(Udp2Tcp::close);
        tunnels.clear();
    }
}
