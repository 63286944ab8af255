package io.dstack.vpn.agent.nodeapi;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import io.dstack.vpn.api.wireguard.WireGuardKey;

/**
 * The node API's settings, from the environment (the chart's node-api Deployment sets them; docs/agent.md lists them).
 * Keys are read from files (the Secret mounted as a volume), never from the environment, and never echoed.
 */
record NodeApiConfig(NodeApiServer.Settings settings, WireGuardKey currentKey, WireGuardKey previousKey, String httpBind, int httpPort) {
    static final int DEFAULT_PORT = 9480;
    static final int DEFAULT_HTTP_PORT = 9464;
    private static final Pattern NETWORK = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");

    static NodeApiConfig fromEnv(Map<String, String> env) throws IOException {
        String namespace = required(env, "NAMESPACE");
        Set<String> networks = Arrays.stream(env.getOrDefault("NETWORKS", "").split(",")).map(String::strip).filter(s -> !s.isEmpty())
                .collect(Collectors.toUnmodifiableSet());
        for (String n : networks) {
            if (n.length() > 253 || !NETWORK.matcher(n).matches()) {
                throw new IllegalArgumentException("NETWORKS must be a comma-separated list of VpnNetwork names");
            }
        }
        int port = integer(env, "NODE_API_PORT", DEFAULT_PORT, 0, 65535);
        InetSocketAddress bind = address(blankToNull(env.get("NODE_API_BIND")), port, "NODE_API_BIND");
        NodeApiServer.Settings settings = NodeApiServer.Settings.defaults(namespace, port)
                .withNetworks(networks)
                .withBind(bind)
                .withMaxConnections(integer(env, "MAX_CONNECTIONS", BoundedHttpServer.Limits.DEFAULT.maxConnections(), 1, 1_000_000))
                .withPollTimeout(Duration.ofSeconds(integer(env, "POLL_TIMEOUT_SECONDS", 30, 1, 30)))
                .withRequestTimeout(Duration.ofSeconds(integer(env, "REQUEST_TIMEOUT_SECONDS", 10, 1, 300)));
        int nonceRate = integer(env, "NONCE_RATE", (int) settings.nonceRatePerSecond(), 1, 1_000_000);
        settings = settings.withNonceRate(nonceRate, Math.max(settings.nonceBurst(), 5 * nonceRate));
        WireGuardKey current = readKey(Path.of(required(env, "NODE_API_KEY_FILE")), "NODE_API_KEY_FILE", true);
        String previousFile = blankToNull(env.get("NODE_API_PREVIOUS_KEY_FILE"));
        WireGuardKey previous = previousFile == null ? null : readKey(Path.of(previousFile), "NODE_API_PREVIOUS_KEY_FILE", false);
        if (previous != null && previous.equals(current)) {
            previous = null;
        }
        return new NodeApiConfig(settings, current, previous, blankToNull(env.get("HTTP_BIND")),
                integer(env, "HTTP_PORT", DEFAULT_HTTP_PORT, 0, 65535));
    }

    /** A private key in base64 ('wg genkey' output); a missing optional file (no previous key) is null. */
    static WireGuardKey readKey(Path file, String variable, boolean required) throws IOException {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            if (!required) {
                return null;
            }
            throw new IllegalArgumentException(variable + " names " + file + ", which does not exist");
        }
        if (!required && text.isBlank()) {
            return null;
        }
        try {
            return WireGuardKey.parse(text);
        } catch (IllegalArgumentException e) {
            // The parser's message never quotes the input.
            throw new IllegalArgumentException(variable + " (" + file + ") does not hold a WireGuard private key: " + e.getMessage());
        }
    }

    private static InetSocketAddress address(String host, int port, String variable) {
        if (host == null) {
            return new InetSocketAddress(port);
        }
        try {
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(variable + " must be an address of this host");
        }
    }

    private static int integer(Map<String, String> env, String name, int fallback, int min, int max) {
        String v = blankToNull(env.get(name));
        if (v == null) {
            return fallback;
        }
        try {
            int n = Integer.parseInt(v);
            if (n < min || n > max) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an integer from " + min + " to " + max);
        }
    }

    private static String required(Map<String, String> env, String name) {
        String v = blankToNull(env.get(name));
        if (v == null) {
            throw new IllegalArgumentException("environment variable " + name + " is required");
        }
        return v;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }

    /** Never the keys. */
    @Override
    public String toString() {
        return "NodeApiConfig[namespace=" + settings.namespace() + ", networks=" + settings.networks() + ", port=" + settings.bind().getPort()
                + ", previousKey=" + (previousKey != null) + "]";
    }
}
