package io.dstack.vpn.cli;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.dstack.vpn.api.peerset.DesiredPeer;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetView;

/**
 * The wg-quick config of one member, from the rendered peer set, with the same transport rules as the agent
 * (ADR 0008): a member whose transport is TCP reaches each peer through a udp2tcp tunnel to that peer's proxy
 * (the tunnel's loopback port is the peer's endpoint, keepalive on), and the config names each tunnel's command;
 * a UDP member leaves a TCP peer's endpoint empty, since that peer dials in through the proxy. Pure: the command
 * reads the peer set, this renders it.
 */
final class WgQuickConfig {
    /** @throws CliException NOT_FOUND when the node is not in the set, CONFIG when TCP is asked of a network without a proxy */
    static String render(PeerSet set, String nodeId, String network) {
        PeerSet.Peer self = set.peers().stream().filter(p -> p.nodeId().equals(nodeId)).findFirst()
                .orElseThrow(() -> new CliException(ExitCodes.NOT_FOUND, "node " + nodeId + " is not an active member of " + network
                        + " (is its token active and confirmed?)"));
        boolean selfTcp = "TCP".equals(self.transport());
        if (selfTcp && !set.proxyEnabled()) {
            throw new CliException(ExitCodes.CONFIG, "node " + nodeId + " has transport TCP, but network " + network
                    + " does not enable spec.proxy: no peer can be reached over TCP");
        }
        Map<String, String> transports = new HashMap<>();
        set.peers().forEach(p -> transports.put(p.nodeId(), p.transport()));
        StringBuilder sb = new StringBuilder();
        sb.append("# wg-quick config for ").append(nodeId).append(" in ").append(network).append(" (peer set generation ")
                .append(set.generation()).append(")\n");
        if (selfTcp) {
            sb.append("# Transport TCP: start one udp2tcp per peer first (Mullvad's udp-over-tcp, or `dstack-vpn-proxy udp2tcp`\n"
                    + "# with the same options); each [Peer] below names its own.\n");
        }
        sb.append("[Interface]\n");
        sb.append("# The private key whose public key is ").append(self.publicKey()).append(": fill it in on the node itself.\n");
        sb.append("PrivateKey = <the node's private key>\n");
        sb.append("Address = ").append(self.address()).append('/').append(set.cidr().substring(set.cidr().indexOf('/') + 1)).append('\n');
        sb.append("ListenPort = ").append(set.listenPort()).append('\n');
        sb.append("MTU = ").append(set.mtu()).append('\n');
        List<DesiredPeer> peers = PeerSetView.desiredFor(set, nodeId);
        int tunnelPort = set.listenPort();
        for (DesiredPeer p : peers) {
            sb.append("\n[Peer]\n# ").append(p.nodeId()).append('\n');
            sb.append("PublicKey = ").append(p.publicKey()).append('\n');
            int keepalive = p.keepalive();
            if (p.endpoint() != null && selfTcp) {
                tunnelPort = nextPort(tunnelPort);
                String host = host(p.endpoint());
                sb.append("# reached over TCP through its proxy:\n");
                sb.append("#   udp2tcp --udp-listen 127.0.0.1:").append(tunnelPort).append(" --tcp-forward ")
                        .append(host.contains(":") ? "[" + host + "]" : host).append(':').append(set.proxyPort()).append('\n');
                if (!isIpLiteral(host)) {
                    sb.append("#   (udp2tcp takes an IP address: resolve ").append(host).append(" first)\n");
                }
                sb.append("Endpoint = 127.0.0.1:").append(tunnelPort).append('\n');
                keepalive = keepalive > 0 ? keepalive : PeerSetView.TUNNEL_KEEPALIVE_SECONDS;
            } else if (p.endpoint() != null && "TCP".equals(transports.get(p.nodeId()))) {
                sb.append("# transport TCP: it dials in through this node's proxy, so no endpoint here\n");
            } else if (p.endpoint() != null) {
                sb.append("Endpoint = ").append(p.endpoint()).append('\n');
            }
            sb.append("AllowedIPs = ").append(String.join(", ", p.allowedIps())).append('\n');
            if (keepalive > 0) {
                sb.append("PersistentKeepalive = ").append(keepalive).append('\n');
            }
        }
        return sb.toString();
    }

    /** The next loopback port for a tunnel, counting up from the WireGuard port (past 65535: from 49152). */
    private static int nextPort(int port) {
        return port >= 65535 ? 49152 : port + 1;
    }

    /** The host part of host:port or [v6]:port, without brackets. */
    static String host(String endpoint) {
        String host = endpoint.substring(0, endpoint.lastIndexOf(':'));
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    private static boolean isIpLiteral(String host) {
        return host.matches("\\d{1,3}(\\.\\d{1,3}){3}") || host.contains(":");
    }

    private WgQuickConfig() {
    }
}
