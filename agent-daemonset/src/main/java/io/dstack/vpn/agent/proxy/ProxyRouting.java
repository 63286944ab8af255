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
                if (selfTcp && d.endpoint() != null) {
                    int port = tunnel(d.nodeId(), host(d.endpoint()) + ":" + set.proxyPort());
                    used.add(d.nodeId());
                    DesiredPeer routed = new DesiredPeer(d.nodeId(), d.publicKey(), "127.0.0.1:" + port, d.allowedIps(),
                            d.keepalive() > 0 ? d.keepalive() : TUNNEL_KEEPALIVE_SECONDS);
                    routedThroughTunnels.put(d.nodeId(), routed);
                    out.add(routed);
                } else if (!selfTcp && "TCP".equals(transports.get(d.nodeId()))) {
                    out.add(new DesiredPeer(d.nodeId(), d.publicKey(), null, d.allowedIps(), d.keepalive()));
                } else {
                    out.add(d);
                }
            }
            for (String id : new ArrayList<>(tunnels.keySet())) {
                if (!used.contains(id)) {
                    proxy.close(id);
                    tunnels.remove(id);
                    routedThroughTunnels.remove(id);
                }
            }
            return out;
        } catch (IOException | RuntimeException e) {
            close(); // start clean on the next apply: a new proxy, new tunnels
            throw e;
        }
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
