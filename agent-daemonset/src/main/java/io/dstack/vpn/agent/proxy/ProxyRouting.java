package io.dstack.vpn.agent.proxy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.dstack.vpn.api.peerset.DesiredPeer;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetView;

/**
 * Puts TCP transport into the desired peers (docs/adr/0008-proxy.md). When the network enables the proxy,
 * every node runs one (its tcp2udp forwards only to its own WireGuard). A node whose transport is TCP dials
 * each peer's proxy at the peer's host and the proxy port, through a local udp2tcp tunnel that becomes the
 * peer's endpoint; other nodes leave a TCP node's endpoint empty, since it reaches them through their
 * proxy and WireGuard learns where to answer. Runs on the agent's apply thread only.
 */
public final class ProxyRouting implements AutoCloseable {
    /** A tunnel needs traffic to come up and a NAT to stay open: keepalive when the peer asks for none. */
    static final int TUNNEL_KEEPALIVE_SECONDS = PeerSetView.TUNNEL_KEEPALIVE_SECONDS;

    private final String selfNodeId;
    private final NodeTunnels.Launcher launcher;
    private NodeTunnels proxy;
    private int proxyTcpPort;
    private int proxyWireGuardPort;
    /** Open tunnels: node id → target and local port. */
    private final Map<String, Tunnel> tunnels = new HashMap<>();
    /** Connections each tunnel had opened when last asked. */
    private final Map<String, Long> dialsSeen = new HashMap<>();
    /** The peer as last routed through each tunnel: what a renewal configures again. */
    private final Map<String, DesiredPeer> routedThroughTunnels = new HashMap<>();

    private record Tunnel(String target, int localPort) {
    }

    public ProxyRouting(String selfNodeId, NodeTunnels.Launcher launcher) {
        this.selfNodeId = selfNodeId;
        this.launcher = launcher;
    }

    /** {@code desired} with endpoints routed through the proxy where transport asks for it. */
    public List<DesiredPeer> route(PeerSet set, List<DesiredPeer> desired) throws IOException {
        if (!set.proxyEnabled()) {
            close();
            return desired;
        }
        try {
            ensureProxy(set.proxyPort(), set.listenPort());
            Map<String, String> transports = new HashMap<>();
            set.peers().forEach(p -> transports.put(p.nodeId(), p.transport()));
            boolean selfTcp = "TCP".equals(transports.get(selfNodeId));
            List<DesiredPeer> out = new ArrayList<>(desired.size());
            Set<String> used = new HashSet<>();
            for (DesiredPeer d : desired) {
                out.add(routed(set.proxyPort(), selfTcp, d, transports.get(d.nodeId())));
                if (throughTunnel(selfTcp, d)) {
                    used.add(d.nodeId());
                }
            }
            for (String id : new ArrayList<>(tunnels.keySet())) {
                if (!used.contains(id)) {
                    closeTunnel(id);
                }
            }
            return out;
        } catch (IOException | RuntimeException e) {
            close(); // start clean on the next apply: a new proxy, new tunnels
            throw e;
        }
    }

    /**
     * Whether {@link #routeOne} may route changed peers under {@code header}: the proxy is as the last {@link #route}
     * of that header left it (off, or running on its ports). Otherwise a full {@link #route} must run first.
     */
    public boolean readyFor(PeerSet header) {
        if (!header.proxyEnabled()) {
            return proxy == null;
        }
        return proxy != null && proxy.alive() && proxyTcpPort == header.proxyPort() && proxyWireGuardPort == header.listenPort();
    }

    /**
     * One changed peer routed as {@link #route} would route it within the whole set, opening, keeping or closing its
     * tunnel, so that a one-peer change costs one peer. Only after {@link #readyFor} said yes.
     *
     * @param desired   the peer as this node should configure it, or null when it no longer peers with {@code nodeId}
     * @param selfTcp   whether this node's own transport is TCP
     * @param transport the peer's transport in the set
     */
    public DesiredPeer routeOne(PeerSet header, boolean selfTcp, String nodeId, DesiredPeer desired, String transport) throws IOException {
        if (!header.proxyEnabled()) {
            return desired;
        }
        try {
            if (desired == null || !throughTunnel(selfTcp, desired)) {
                closeTunnel(nodeId);
            }
            return desired == null ? null : routed(header.proxyPort(), selfTcp, desired, transport);
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    private static boolean throughTunnel(boolean selfTcp, DesiredPeer d) {
        return selfTcp && d.endpoint() != null;
    }

    private DesiredPeer routed(int proxyPort, boolean selfTcp, DesiredPeer d, String transport) throws IOException {
        if (throughTunnel(selfTcp, d)) {
            int port = tunnel(d.nodeId(), host(d.endpoint()) + ":" + proxyPort);
            DesiredPeer routed = new DesiredPeer(d.nodeId(), d.publicKey(), "127.0.0.1:" + port, d.allowedIps(),
                    d.keepalive() > 0 ? d.keepalive() : TUNNEL_KEEPALIVE_SECONDS);
            routedThroughTunnels.put(d.nodeId(), routed);
            return routed;
        }
        if (!selfTcp && "TCP".equals(transport)) {
            return new DesiredPeer(d.nodeId(), d.publicKey(), null, d.allowedIps(), d.keepalive());
        }
        return d;
    }

    private void closeTunnel(String nodeId) throws IOException {
        if (tunnels.remove(nodeId) != null) {
            proxy.close(nodeId);
        }
        routedThroughTunnels.remove(nodeId);
    }

    /**
     * The node ids whose tunnel dialled again since the last call. Its far proxy dropped it, which happens when
     * that node's agent (and, very likely, its wireguard-go) restarted: the restarted device has forgotten the
     * session our WireGuard still uses, and the far node cannot handshake with us first (it has no path to a TCP
     * node). WireGuard would renew the session only after up to two minutes of keepalives; the caller renews it
     * now, with the peers as they were last routed.
     */
    public List<DesiredPeer> redialed() throws IOException {
        if (proxy == null || !proxy.alive() || tunnels.isEmpty()) {
            dialsSeen.clear();
            return List.of();
        }
        List<DesiredPeer> out = new ArrayList<>();
        Map<String, Long> now = proxy.dials();
        for (Map.Entry<String, Long> e : now.entrySet()) {
            Long before = dialsSeen.put(e.getKey(), e.getValue());
            DesiredPeer peer = routedThroughTunnels.get(e.getKey());
            if (before != null && before > 0 && e.getValue() > before && peer != null) {
                out.add(peer);
            }
        }
        dialsSeen.keySet().retainAll(now.keySet());
        return out;
    }

    /** Every peer routed through a tunnel, as last routed (what a renewal configures again). */
    public List<DesiredPeer> routedThroughTunnels() {
        return List.copyOf(routedThroughTunnels.values());
    }

    public int tunnelCount() {
        return tunnels.size();
    }

    private void ensureProxy(int tcpPort, int wireGuardPort) throws IOException {
        if (proxy != null && proxy.alive() && tcpPort == proxyTcpPort && wireGuardPort == proxyWireGuardPort) {
            return;
        }
        close();
        proxy = launcher.start(tcpPort, wireGuardPort);
        proxyTcpPort = tcpPort;
        proxyWireGuardPort = wireGuardPort;
    }

    private int tunnel(String nodeId, String target) throws IOException {
        Tunnel open = tunnels.get(nodeId);
        if (open != null && open.target().equals(target)) {
            return open.localPort();
        }
        int port = proxy.open(nodeId, target);
        tunnels.put(nodeId, new Tunnel(target, port));
        return port;
    }

    /** The host part of host:port or [v6]:port. */
    static String host(String endpoint) {
        return endpoint.substring(0, endpoint.lastIndexOf(':'));
    }

    @Override
    public void close() {
        tunnels.clear();
        dialsSeen.clear();
        routedThroughTunnels.clear();
        if (proxy != null) {
            proxy.close();
            proxy = null;
        }
    }
}
