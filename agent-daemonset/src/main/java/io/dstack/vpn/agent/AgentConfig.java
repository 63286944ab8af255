package io.dstack.vpn.agent;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The agent's settings, from the environment (the DaemonSet sets them). NETNS exists for simulations: it
 * runs the agent on the host but the interface commands inside a network namespace.
 */
public record AgentConfig(String namespace, String network, String nodeId, String nodeName, Path keyDir, String iface,
        String backend, Path uapiSocket, String endpoint, String netns, String httpBind, int httpPort, int statsSeconds, boolean startWireGuardGo,
        String transport, long statusSpreadMaxMillis, boolean nodeProxyInProcess, Standalone standalone,
        io.dstack.vpn.agent.dns.DnsConfig dns) {

    /**
     * {@code AGENT_MODE=standalone}: a node outside Kubernetes (docker compose on a dstack CVM). It reads its peer set
     * and writes its status through the node API (ADR 0015), authenticated by its WireGuard key; it has no Kubernetes
     * credentials and publishes no VpnPeer (the CLI's {@code node-bundle} creates it).
     *
     * @param url       the node API's base URL
     * @param serverKey the node API's X25519 public key (base64), pinned in the bundle: the node's only trust root
     */
    public record Standalone(java.net.URI url, String serverKey) {
    }

    public static final String MODE_STANDALONE = "standalone";

    /**
     * {@code WG_BACKEND=memory}: a fake device in memory (scale tests and benchmarks only): no interface, no
     * wireguard-go, no ip or wg commands; it logs when each peer is added and removed.
     */
    public static final String MEMORY_BACKEND = "memory";

    public static AgentConfig fromEnv(Map<String, String> env) {
        return fromEnv(env, label -> null);
    }

    /**
     * @param nodeLabel reads a label of this Kubernetes node (used when NODE_ID_LABEL or TRANSPORT_LABEL names one);
     *                  the node id is that label's value, else NODE_ID, else the node name
     */
    public static AgentConfig fromEnv(Map<String, String> env, java.util.function.Function<String, String> nodeLabel) {
        String namespace = required(env, "NAMESPACE");
        String network = required(env, "NETWORK");
        String mode = env.getOrDefault("AGENT_MODE", "daemonset");
        if (!mode.equals("daemonset") && !mode.equals(MODE_STANDALONE)) {
            throw new IllegalArgumentException("AGENT_MODE must be daemonset or standalone (node-api is a separate entry point), not " + mode);
        }
        Standalone standalone = mode.equals(MODE_STANDALONE) ? standalone(env) : null;
        String nodeName = standalone != null ? "" : env.getOrDefault("NODE_NAME", "");
        String iface = env.getOrDefault("WG_INTERFACE", "dvpn0");
        String labelled = env.containsKey("NODE_ID_LABEL") ? nodeLabel.apply(env.get("NODE_ID_LABEL")) : null;
        String nodeId = labelled != null ? labelled : env.getOrDefault("NODE_ID", nodeName);
        if (nodeId == null || nodeId.isBlank()) {
            throw new IllegalArgumentException("no node id: set NODE_ID, NODE_NAME, or NODE_ID_LABEL to a label the node carries");
        }
        // Endpoint: explicit, else the node's address (downward API status.hostIP) and the WireGuard port.
        String endpoint = env.get("ENDPOINT");
        if (endpoint == null && env.get("NODE_IP") != null) {
            endpoint = env.get("NODE_IP") + ":" + env.getOrDefault("LISTEN_PORT", "51820");
        }
        // Transport: from a node label when TRANSPORT_LABEL names one the node carries (one DaemonSet, mixed
        // nodes), else TRANSPORT, else UDP.
        String labelledTransport = env.containsKey("TRANSPORT_LABEL") ? nodeLabel.apply(env.get("TRANSPORT_LABEL")) : null;
        // A standalone node is usually a CVM that cannot take UDP from the others: TCP unless told otherwise.
        String transport = labelledTransport != null ? labelledTransport : env.getOrDefault("TRANSPORT", standalone != null ? "TCP" : "UDP");
        if (!transport.equals("UDP") && !transport.equals("TCP")) {
            throw new IllegalArgumentException("TRANSPORT must be UDP or TCP (TCP: this node's UDP is blocked; it reaches the others through their proxy), not " + transport);
        }
        String backend = env.getOrDefault("WG_BACKEND", "uapi");
        boolean startWireGuardGo = Boolean.parseBoolean(env.getOrDefault("START_WIREGUARD_GO", "false"));
        if (MEMORY_BACKEND.equals(backend) && startWireGuardGo) {
            throw new IllegalArgumentException("WG_BACKEND=memory (a fake device for scale tests) runs no wireguard-go: unset START_WIREGUARD_GO");
        }
        // The node proxy runs in this JVM, unless the agent runs outside the node's namespace (NETNS, a simulation):
        // a listener there needs a process started inside it. NODE_PROXY=process keeps the child JVM (benchmarks).
        String netns = env.get("NETNS");
        String nodeProxy = env.getOrDefault("NODE_PROXY", netns == null || netns.isBlank() ? "in-process" : "process");
        if (!nodeProxy.equals("in-process") && !nodeProxy.equals("process")) {
            throw new IllegalArgumentException("NODE_PROXY must be in-process or process, not " + nodeProxy);
        }
        if (nodeProxy.equals("in-process") && netns != null && !netns.isBlank()) {
            throw new IllegalArgumentException("NODE_PROXY=in-process cannot listen inside NETNS " + netns + ": use process");
        }
        return new AgentConfig(
                namespace,
                network,
                nodeId,
                nodeName.isEmpty() ? null : nodeName,
                Path.of(env.getOrDefault("KEY_DIR", "/var/lib/dstack-vpn")),
                iface,
                backend,
                Path.of(env.getOrDefault("UAPI_SOCKET", "/var/run/wireguard/" + iface + ".sock")),
                endpoint,
                netns,
                blankToNull(env.get("HTTP_BIND")),
                Integer.parseInt(env.getOrDefault("HTTP_PORT", "9464")),
                Integer.parseInt(env.getOrDefault("STATS_SECONDS", "30")),
                startWireGuardGo,
                transport,
                // The longest a new generation's status write waits (StatusPacing: 1 ms per peer up to this; 0: at once).
                Long.parseLong(env.getOrDefault("STATUS_SPREAD_MAX_MS", "5000")),
                nodeProxy.equals("in-process"),
                standalone,
                io.dstack.vpn.agent.dns.DnsConfig.fromEnv(env));
    }

    private static Standalone standalone(Map<String, String> env) {
        String url = required(env, "NODE_API_URL");
        java.net.URI uri;
        try {
            uri = java.net.URI.create(url.strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("NODE_API_URL is not a URL: " + e.getMessage());
        }
        if (!"https".equals(uri.getScheme()) && !"http".equals(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException("NODE_API_URL must be an http(s) URL with a host, like https://vpn.example.com, not " + url);
        }
        String key = required(env, "NODE_API_KEY").strip();
        if (!io.dstack.vpn.api.wireguard.WireGuardKey.isValid(key)) {
            throw new IllegalArgumentException("NODE_API_KEY must be the node API's public key (44 characters of base64, from dstack-vpn node-bundle)");
        }
        return new Standalone(uri, key);
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }

    private static String required(Map<String, String> env, String name) {
        String v = env.get(name);
        if (v == null || v.isBlank()) {
            throw new IllegalArgumentException("environment variable " + name + " is required");
        }
        return v;
    }

    /** Prefix for interface commands: empty on a node, {@code ip netns exec <ns>} in a simulation. */
    public List<String> commandPrefix() {
        return netns == null || netns.isBlank() ? List.of() : List.of("ip", "netns", "exec", netns);
    }

    /** The fake in-memory device (scale tests): no interface commands run. */
    public boolean memoryBackend() {
        return MEMORY_BACKEND.equals(backend);
    }

    /** VpnPeer name: one per node and network. */
    public String peerName() {
        return network + "-" + nodeId;
    }
}
