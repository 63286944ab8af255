package io.dstack.vpn.agent.peers;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.dstack.vpn.api.peerset.DesiredPeer;

/**
 * The device wants ip:port: a peer whose endpoint names a host gets it resolved at each apply. An
 * unresolvable one is left without an endpoint (that peer dials in, and WireGuard learns where it is).
 */
public final class EndpointResolver {
    private static final Logger LOG = LoggerFactory.getLogger(EndpointResolver.class);

    /** A host name to an address literal. */
    @FunctionalInterface
    public interface HostLookup {
        String address(String host) throws UnknownHostException;
    }

    /** The system resolver (DNS, /etc/hosts). */
    public static final HostLookup SYSTEM = host -> InetAddress.getByName(host).getHostAddress();

    private final HostLookup lookup;

    public EndpointResolver(HostLookup lookup) {
        this.lookup = lookup;
    }

    public List<DesiredPeer> resolve(List<DesiredPeer> peers) {
        List<DesiredPeer> out = new ArrayList<>(peers.size());
        for (DesiredPeer p : peers) {
            out.add(resolve(p));
        }
        return out;
    }

    /** One peer with its endpoint resolved (the same peer when there is nothing to resolve). */
    public DesiredPeer resolve(DesiredPeer p) {
        String endpoint = resolve(p.nodeId(), p.endpoint());
        return endpoint == p.endpoint() ? p : new DesiredPeer(p.nodeId(), p.publicKey(), endpoint, p.allowedIps(), p.keepalive());
    }

    /** host:port with the host resolved; an address ({@code [v6]:port}, {@code 1.2.3.4:port}) or null as it is. */
    String resolve(String nodeId, String endpoint) {
        if (endpoint == null || endpoint.startsWith("[") || Character.isDigit(endpoint.charAt(0))) {
            return endpoint;
        }
        int colon = endpoint.lastIndexOf(':');
        try {
            return lookup.address(endpoint.substring(0, colon)) + endpoint.substring(colon);
        } catch (UnknownHostException e) {
            LOG.warn("cannot resolve the endpoint of {} ({}); the peer is configured without one", nodeId, endpoint);
            return null;
        }
    }
}
