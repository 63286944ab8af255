package io.dstack.vpn.testing;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A throw-away underlay network of simulated nodes on this machine, for running real WireGuard (wireguard-go)
 * tunnels without VMs or containers. Needs root (or CAP_NET_ADMIN + CAP_SYS_ADMIN), {@code ip}, {@code nft},
 * {@code unshare}, {@code ping} and {@code wireguard-go} ({@code hack/install-wireguard.sh}), and {@code iptables}
 * where a Docker engine runs (see {@link #allowBridgedFrames()}).
 *
 * <p>Layout, for a random 4-hex-digit suffix {@code <s>} per instance:
 * <pre>
 *   root namespace:   bridge dvb-&lt;s&gt; (no IP address, no IPv6 link-local)
 *                       ├── veth dvh-&lt;s&gt;-0 ⇄ eth0 in netns dv-&lt;s&gt;-&lt;name0&gt;   10.254.&lt;o&gt;.1/24
 *                       └── veth dvh-&lt;s&gt;-1 ⇄ eth0 in netns dv-&lt;s&gt;-&lt;name1&gt;   10.254.&lt;o&gt;.2/24
 * </pre>
 * The underlay subnet {@code 10.254.<o>.0/24} (third octet {@code <o>} random per instance) is assigned only
 * inside the namespaces this class creates. The bridge has no address, so the root namespace neither routes
 * into nor out of it, and the namespaces have no default route: traffic sent from a simulated node can only
 * reach the other nodes of the same instance. Two instances may even draw the same octet without conflict
 * (separate bridges); the random octet just keeps packet captures from different runs distinguishable.
 *
 * <p>{@link #close()} removes everything this instance created: processes it started (wireguard-go and any
 * other process still inside its namespaces), namespaces (which takes their eth0 and so the veth pairs along),
 * leftover host-side veths, the bridge and the temp dir. It works after a partial failure, because every
 * resource is recorded as soon as it exists and removal tolerates "already gone"; it never removes what it did
 * not create (a name clash makes creation fail, and failed creations are not recorded). A JVM shutdown hook runs
 * the same cleanup if the test never called close (for example on Ctrl-C); nothing survives a SIGKILL of the
 * JVM, so names carry the {@code dv} prefix for manual cleanup ({@code ip netns list}, {@code ip link}).
 */
public final class SimulatedNetwork implements AutoCloseable {

    /** Timeout of the short {@code ip}/{@code nft} commands used to build and tear down the network. */
    static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(20);

    /** Node names: lowercase DNS-label style, short enough for the netns name to stay readable. */
    private static final Pattern NODE_NAME = Pattern.compile("[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?");
    /** .1 to .253 for nodes; .254 left free in case a test ever wants a gateway. */
    private static final int MAX_NODES = 253;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String suffix;
    private final int subnetOctet;
    private final String bridge;
    private final Path tempDir;
    private final Thread shutdownHook;
    private final Map<String, SimulatedNode> nodes = new LinkedHashMap<>();
    /** Recorded as soon as created, so that cleanup after a partial failure still finds them. */
    private final List<String> namespaces = new ArrayList<>();
    private final List<String> hostVeths = new ArrayList<>();
    /** Nodes attempted so far; numbers host-side veths and underlay addresses (a failed attempt burns one). */
    private int nodeCount;
    /** The iptables FORWARD rule that lets the bridge's own frames through, when one was needed. */
    private List<String> forwardRule;
    private boolean closed;

    /** Creates the bridge. Fails (after removing what it made) if the machine lacks the tools or privileges. */
    public SimulatedNetwork() {
        try {
            // Short prefix on purpose: a unix socket path (UAPI sockets live under here) holds at most 107 bytes.
            this.tempDir = Files.createTempDirectory("dvsim-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create temp dir", e);
        }
        byte[] claimed;
        try {
            claimed = claimBridge();
        } catch (RuntimeException e) {
            deleteRecursively(tempDir);
            throw e;
        }
        this.suffix = HexFormat.of().formatHex(claimed, 0, 2);
        this.subnetOctet = Byte.toUnsignedInt(claimed[2]);
        this.bridge = "dvb-" + suffix;
        this.shutdownHook = new Thread(this::cleanupQuietly, "simulated-network-cleanup-" + suffix);
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        try {
            // addrgenmode none: no IPv6 link-local address on the bridge, so the root namespace has no address
            // on the test network at all.
            runChecked("ip", "link", "set", bridge, "addrgenmode", "none");
            runChecked("ip", "link", "set", bridge, "up");
            allowBridgedFrames();
        } catch (RuntimeException e) {
            closeAfterFailure(e);
            throw e;
        }
    }

    /**
     * Creates bridge {@code dvb-<suffix>} for a random suffix and returns the 3 random bytes (2 for the suffix,
     * 1 for the subnet octet). Creating a link is atomic and fails if the name exists, so owning the bridge
     * means owning the suffix, from which every other name derives. On a clash (a concurrent run, or a leftover
     * of a killed one) it draws again rather than touch what is not ours.
     */
    private static byte[] claimBridge() {
        RuntimeException last = null;
        for (int attempt = 0; attempt < 5; attempt++) {
            byte[] random = new byte[3];
            RANDOM.nextBytes(random);
            try {
                // nf_call_*tables 0: keep this bridge out of the host's iptables where the global br_netfilter
                // switches are off; where they are on (Docker), allowBridgedFrames() adds an ACCEPT rule.
                runChecked("ip", "link", "add", "dvb-" + HexFormat.of().formatHex(random, 0, 2), "type", "bridge",
                        "nf_call_iptables", "0", "nf_call_ip6tables", "0", "nf_call_arptables", "0");
                return random;
            } catch (RuntimeException e) {
                last = e;
            }
        }
        throw last;
    }

    /**
     * With br_netfilter's {@code bridge-nf-call-iptables=1} (set by a running Docker engine) bridged frames cross
     * the host's iptables FORWARD chain, whose policy Docker sets to DROP; the per-bridge {@code nf_call_iptables 0}
     * cannot override the global switch (the kernel ORs them). So then, and only then, one rule accepts frames
     * from our bridge to our bridge; {@link #close()} deletes it.
     */
    private void allowBridgedFrames() {
        Path globalSwitch = Path.of("/proc/sys/net/bridge/bridge-nf-call-iptables");
        try {
            if (!Files.exists(globalSwitch) || !Files.readString(globalSwitch).strip().equals("1")) {
                return;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + globalSwitch, e);
        }
        List<String> rule = List.of("FORWARD", "-i", bridge, "-o", bridge, "-m", "comment", "--comment",
                "dstack-vpn SimulatedNetwork " + suffix, "-j", "ACCEPT");
        List<String> insert = new ArrayList<>(List.of("iptables", "-I"));
        insert.addAll(rule);
        runChecked(insert.toArray(String[]::new));
        forwardRule = rule;
    }

    /** The random 4-hex-digit suffix in every name this instance creates. */
    public String suffix() {
        return suffix;
    }

    /** The bridge in the root namespace that connects the nodes' eth0 interfaces. */
    public String bridgeName() {
        return bridge;
    }

    /** The underlay subnet, {@code 10.254.<o>.0/24}. */
    public String underlaySubnet() {
        return "10.254." + subnetOctet + ".0/24";
    }

    /** The temp dir holding every node's files (UAPI socket dirs, wireguard-go logs); deleted by close. */
    public Path tempDir() {
        return tempDir;
    }

    public synchronized List<SimulatedNode> nodes() {
        return List.copyOf(nodes.values());
    }

    /**
     * Adds a node: network namespace {@code dv-<suffix>-<name>} with loopback up and {@code eth0} (a veth whose
     * other end, {@code dvh-<suffix>-<index>}, is on the bridge) carrying the next underlay address.
     *
     * @param name lowercase letters, digits and dashes, at most 24 characters, unique in this network
     */
    public synchronized SimulatedNode addNode(String name) {
        if (closed) {
            throw new IllegalStateException("network " + suffix + " is closed");
        }
        if (name == null || !NODE_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("node name must match " + NODE_NAME.pattern() + ": " + name);
        }
        if (nodes.containsKey(name)) {
            throw new IllegalArgumentException("node " + name + " already exists");
        }
        int index = nodeCount++;
        if (index >= MAX_NODES) {
            throw new IllegalStateException("at most " + MAX_NODES + " nodes per network");
        }
        String netns = "dv-" + suffix + "-" + name;
        String hostVeth = "dvh-" + suffix + "-" + index; // interface names are limited to 15 characters
        String address = "10.254." + subnetOctet + "." + (index + 1);
        Path nodeDir = tempDir.resolve(name);
        try {
            Files.createDirectories(nodeDir);
            runChecked("ip", "netns", "add", netns);
            namespaces.add(netns);
            // Create the pair with its peer directly inside the namespace: the "eth0" name never exists in the
            // root namespace (where it would clash with the host's own eth0).
            runChecked("ip", "link", "add", hostVeth, "type", "veth", "peer", "name", "eth0", "netns", netns);
            hostVeths.add(hostVeth);
            runChecked("ip", "link", "set", hostVeth, "addrgenmode", "none");
            runChecked("ip", "link", "set", hostVeth, "master", bridge, "up");
            runChecked("ip", "-n", netns, "link", "set", "lo", "up");
            runChecked("ip", "-n", netns, "addr", "add", address + "/24", "dev", "eth0");
            runChecked("ip", "-n", netns, "link", "set", "eth0", "up");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + nodeDir, e);
        }
        // On a RuntimeException whatever was created stays recorded; close() removes it.
        SimulatedNode node = new SimulatedNode(name, netns, address, nodeDir);
        nodes.put(name, node);
        return node;
    }

    /**
     * Removes every process, namespace, veth, bridge and file this instance created, in that order. Safe to
     * call twice. Tries every step even when one fails, then throws one exception listing the failures.
     */
    @Override
    public void close() {
        List<String> failures = cleanup();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // The JVM is already shutting down (close called from another hook): nothing to unregister.
        }
        if (!failures.isEmpty()) {
            throw new IllegalStateException("cleanup of simulated network " + suffix + " incomplete: "
                    + String.join("; ", failures));
        }
    }

    private void closeAfterFailure(RuntimeException cause) {
        try {
            close();
        } catch (RuntimeException e) {
            cause.addSuppressed(e);
        }
    }

    private void cleanupQuietly() {
        List<String> failures = cleanup();
        if (!failures.isEmpty()) {
            System.err.println("[SimulatedNetwork " + suffix + "] cleanup incomplete: " + failures);
        }
    }

    private synchronized List<String> cleanup() {
        List<String> failures = new ArrayList<>();
        if (closed) {
            return failures;
        }
        closed = true;
        for (SimulatedNode node : nodes.values()) {
            attempt(failures, "stop wireguard-go in " + node.netns(), node::stopWireGuard);
        }
        for (String netns : namespaces) {
            attempt(failures, "kill processes in " + netns, () -> killProcessesIn(netns));
            attempt(failures, "delete netns " + netns, () -> {
                if (Files.exists(Path.of("/run/netns", netns))) {
                    runChecked("ip", "netns", "delete", netns);
                }
            });
        }
        // Deleting a namespace destroys its eth0 and with it the host-side peer; this only catches a veth whose
        // namespace was never created or whose peer move failed.
        for (String veth : hostVeths) {
            attempt(failures, "delete veth " + veth, () -> deleteLinkIfPresent(veth));
        }
        attempt(failures, "delete bridge " + bridge, () -> deleteLinkIfPresent(bridge));
        if (forwardRule != null) {
            List<String> delete = new ArrayList<>(List.of("iptables", "-D"));
            delete.addAll(forwardRule);
            attempt(failures, "delete iptables rule " + forwardRule, () -> runChecked(delete.toArray(String[]::new)));
        }
        attempt(failures, "delete " + tempDir, () -> deleteRecursively(tempDir));
        return failures;
    }

    private static void attempt(List<String> failures, String what, Runnable step) {
        try {
            step.run();
        } catch (RuntimeException e) {
            failures.add(what + ": " + e.getMessage());
        }
    }

    /**
     * SIGKILLs whatever still runs inside the namespace (a background process a test started through
     * {@link SimulatedNode#exec}, say): a namespace lives on, unnamed, while any process holds it.
     */
    private static void killProcessesIn(String netns) {
        if (!Files.exists(Path.of("/run/netns", netns))) {
            return;
        }
        SimulatedNode.ExecResult pids = run(COMMAND_TIMEOUT, List.of("ip", "netns", "pids", netns));
        for (String line : pids.output().split("\\s+")) {
            if (!line.isBlank()) {
                ProcessHandle.of(Long.parseLong(line.strip())).ifPresent(p -> {
                    p.destroyForcibly();
                    p.onExit().orTimeout(5, TimeUnit.SECONDS).join();
                });
            }
        }
    }

    private static void deleteLinkIfPresent(String link) {
        if (Files.exists(Path.of("/sys/class/net", link))) {
            SimulatedNode.ExecResult result = run(COMMAND_TIMEOUT, List.of("ip", "link", "delete", link));
            // The kernel tears a deleted namespace's veth pairs down asynchronously: gone by now is fine.
            if (!result.ok() && Files.exists(Path.of("/sys/class/net", link))) {
                throw new IllegalStateException("'ip link delete " + link + "' exited " + result.exitCode() + ": "
                        + result.output().strip());
            }
        }
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // --- running commands -------------------------------------------------------------------------------------

    static SimulatedNode.ExecResult runChecked(String... command) {
        SimulatedNode.ExecResult result = run(COMMAND_TIMEOUT, List.of(command));
        if (result.exitCode() != 0) {
            throw new IllegalStateException("'" + String.join(" ", command) + "' exited " + result.exitCode()
                    + ": " + result.output().strip());
        }
        return result;
    }

    /**
     * Runs a command with stdout and stderr merged, waiting at most {@code timeout}; on timeout the command
     * and its descendants are killed and an exception is thrown (a hung test step should fail, not hang).
     */
    static SimulatedNode.ExecResult run(Duration timeout, List<String> command) {
        Process process;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start '" + String.join(" ", command) + "'", e);
        }
        // Read on a separate thread so that a chatty command cannot block on a full pipe while we wait.
        AtomicReference<byte[]> output = new AtomicReference<>(new byte[0]);
        Thread reader = Thread.ofVirtual().start(() -> {
            try (InputStream in = process.getInputStream()) {
                output.set(in.readAllBytes());
            } catch (IOException ignored) {
                // Stream closed by a kill: keep what we have.
            }
        });
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                List<ProcessHandle> descendants = process.descendants().toList();
                process.destroyForcibly();
                descendants.forEach(ProcessHandle::destroyForcibly);
                throw new IllegalStateException("'" + String.join(" ", command) + "' timed out after " + timeout);
            }
            reader.join(timeout.toMillis());
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running '" + String.join(" ", command) + "'", e);
        }
        return new SimulatedNode.ExecResult(process.exitValue(), new String(output.get(), StandardCharsets.UTF_8));
    }
}
