package io.dstack.vpn.agent.dns;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.dstack.vpn.api.peerset.StoredPeerSet;

/**
 * The agent's DNS names (ADR 0016): {@code <nodeId>.<network>.<domain>} answered on this node from the newest
 * complete peer set, the one the agent applies. On a node, a {@link DnsServer} on the host's sockets; in a
 * simulation ({@code NETNS}), a {@link DnsRelay} into the node's namespace. A port that cannot be bound is logged
 * and shown as {@code dstack_vpn_agent_dns_up 0}, and the agent goes on: the VPN matters more than its names.
 */
public final class AgentDns implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AgentDns.class);

    private final AutoCloseable listener;

    private AgentDns(AutoCloseable listener) {
        this.listener = listener;
    }

    /**
     * @param netnsPrefix the agent's command prefix: empty on a node, {@code ip netns exec <ns>} in a simulation
     * @param latest      the newest complete peer set (the watcher's), null before the first
     * @param metrics     receives the responder's counters for /metrics
     */
    public static AgentDns start(DnsConfig config, String network, List<String> netnsPrefix, Supplier<StoredPeerSet> latest,
            Consumer<DnsMetrics> metrics) {
        DnsMetrics counters = new DnsMetrics();
        metrics.accept(counters);
        if (!config.enabled()) {
            LOG.info("DNS names off (DNS_BIND=off)");
            return new AgentDns(null);
        }
        List<String> origin = config.origin(network);
        String zone = String.join(".", origin);
        DnsResponder responder = new DnsResponder(origin, config.ttl(), latest, SourceFilter.parse(config.allowFrom()), counters);
        try {
            InetSocketAddress bind = new InetSocketAddress(InetAddress.getByName(config.bind()), config.port());
            if (!netnsPrefix.isEmpty()) {
                LOG.info("DNS names <nodeId>.{} answered on {}:{} (UDP) in the node's namespace, through a relay process", zone,
                        config.bind(), config.port());
                return new AgentDns(DnsRelay.start(netnsPrefix, bind, responder, counters));
            }
            DnsServer server = DnsServer.start(bind, responder, counters);
            LOG.info("DNS names <nodeId>.{} answered on {}:{} (UDP and TCP)", zone, config.bind(), server.port());
            return new AgentDns(server);
        } catch (IOException | RuntimeException e) {
            LOG.error("DNS names are not served: cannot listen on {}:{} ({}); set DNS_PORT to a free port or DNS_BIND=off",
                    config.bind(), config.port(), e.toString());
            return new AgentDns(null);
        }
    }

    @Override
    public void close() {
        if (listener != null) {
            try {
                listener.close();
            } catch (Exception e) {
                LOG.debug("closing DNS: {}", e.toString());
            }
        }
    }
}
