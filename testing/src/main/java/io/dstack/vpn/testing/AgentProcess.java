package io.dstack.vpn.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;


/**
 * One agent as its own JVM (the packaged jar), on the host, driving the wireguard-go of a simulated node
 * through that node's UAPI socket and running its interface commands inside the node's namespace.
 */
public final class AgentProcess implements AutoCloseable {
    public final String nodeId;
    public final Path keyDir;
    private final Process process;
    private final int httpPort;
    private final Path log;

    private AgentProcess(String nodeId, Path keyDir, Process process, int httpPort, Path log) {
        this.nodeId = nodeId;
        this.keyDir = keyDir;
        this.process = process;
        this.httpPort = httpPort;
        this.log = log;
    }

    public static AgentProcess start(SimulatedNode node, String nodeId, String namespace, String network, Path keyDir) throws IOException {
        return start(node, nodeId, namespace, network, keyDir, java.util.Map.of());
    }

    /** @param extraEnv more agent settings, e.g. {@code TRANSPORT=TCP} for a node whose UDP is blocked */
    public static AgentProcess start(SimulatedNode node, String nodeId, String namespace, String network, Path keyDir,
            java.util.Map<String, String> extraEnv) throws IOException {
        return start(node, nodeId, namespace, network, keyDir, extraEnv, DEFAULT_JVM_OPTIONS);
    }

    /** JVM options of {@link #start}: a small heap and the serial collector, as in the DaemonSet. */
    public static final java.util.List<String> DEFAULT_JVM_OPTIONS = java.util.List.of("-Xmx96m", "-XX:+UseSerialGC");

    /**
     * JVM options for many agents on one machine ({@link #startMemory}): a 48 MiB heap, the serial collector and
     * C1 only (no C2 compiler threads and code).
     */
    public static final java.util.List<String> SMALL_JVM_OPTIONS = java.util.List.of("-Xmx48m", "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1");

    /** {@link #start(SimulatedNode, String, String, String, Path, java.util.Map)} with its own JVM options. */
    public static AgentProcess start(SimulatedNode node, String nodeId, String namespace, String network, Path keyDir,
            java.util.Map<String, String> extraEnv, java.util.List<String> jvmOptions) throws IOException {
        java.util.Map<String, String> env = new java.util.LinkedHashMap<>();
        env.put("UAPI_SOCKET", node.uapiSocket("wg0").toString());
        env.put("ENDPOINT", node.underlayAddress() + ":51820");
        env.put("NETNS", node.netns());
        env.putAll(extraEnv);
        return launch(nodeId, namespace, network, keyDir, env, jvmOptions);
    }

    /**
     * An agent with the fake in-memory WireGuard backend ({@code WG_BACKEND=memory}): no node, no interface, no
     * wireguard-go, no ip or wg commands. It logs when it adds and removes each peer
     * ({@code memory-device: removed peer <key> at epoch-us <n>}, see {@link #logFile}). For scale tests only.
     *
     * @param endpoint the endpoint it publishes (nothing listens there)
     */
    public static AgentProcess startMemory(String nodeId, String namespace, String network, Path keyDir, String endpoint,
            java.util.Map<String, String> extraEnv, java.util.List<String> jvmOptions) throws IOException {
        java.util.Map<String, String> env = new java.util.LinkedHashMap<>();
        env.put("WG_BACKEND", "memory");
        env.put("ENDPOINT", endpoint);
        env.putAll(extraEnv);
        return launch(nodeId, namespace, network, keyDir, env, jvmOptions);
    }

    private static AgentProcess launch(String nodeId, String namespace, String network, Path keyDir, java.util.Map<String, String> extraEnv,
            java.util.List<String> jvmOptions) throws IOException {
        Path jar;
        try (var files = Files.list(RealApiServer.repoRoot().resolve("agent-daemonset/target"))) {
            jar = files.filter(f -> f.getFileName().toString().matches("dstack-vpn-agent-.*\\.jar")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("agent jar missing: run the package phase"));
        }
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path log = Files.createTempFile("dstack-vpn-agent-" + nodeId, ".log");
        java.util.List<String> cmd = new java.util.ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        cmd.add("-jar");
        cmd.add(jar.toString());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        var env = pb.environment();
        env.put("KUBECONFIG", RealApiServer.get().kubeconfig().toString());
        env.put("NAMESPACE", namespace);
        env.put("NETWORK", network);
        env.put("NODE_ID", nodeId);
        env.put("KEY_DIR", keyDir.toString());
        env.put("WG_INTERFACE", "wg0");
        env.put("HTTP_PORT", Integer.toString(port));
        env.put("STATS_SECONDS", "5");
        env.putAll(extraEnv);
        return new AgentProcess(nodeId, keyDir, pb.start(), port, log);
    }

    public String metrics() throws IOException, InterruptedException {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/metrics"))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    public String log() throws IOException {
        return Files.readString(log);
    }

    /** The agent's stdout and stderr (slf4j-simple writes its log to stderr). */
    public Path logFile() {
        return log;
    }

    public long pid() {
        return process.pid();
    }

    /** Resident set size of the agent JVM, from /proc. */
    public long rssKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }

    public boolean alive() {
        return process.isAlive();
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
