package io.dstack.vpn.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One simulated machine of a {@link SimulatedNetwork}: a network namespace with {@code eth0} on the
 * network's bridge. Commands run inside it through {@code ip netns exec}; wireguard-go runs inside it as
 * well, but its UAPI socket is reachable from the root namespace (see {@link #startWireGuard}), which is how a
 * node agent running as an ordinary process of the test drives it.
 */
public final class SimulatedNode {

    /** Default timeout of {@link #exec(String...)}. */
    public static final Duration EXEC_TIMEOUT = Duration.ofSeconds(30);
    /** How long wireguard-go gets to create its UAPI socket (it takes a few ms here). */
    private static final Duration WIREGUARD_START_TIMEOUT = Duration.ofSeconds(10);
    /** Linux interface names: at most 15 bytes (IFNAMSIZ - 1); the set wireguard-go and {@code ip} accept. */
    private static final Pattern IF_NAME = Pattern.compile("[A-Za-z0-9_=+.-]{1,15}");
    /** A unix socket path holds at most 107 bytes (sun_path is 108 with the terminating NUL). */
    private static final int MAX_SOCKET_PATH = 107;
    /** nftables table holding the UDP block; a table of our own so removing it touches nothing else. */
    private static final String NFT_TABLE = "dv_block_udp";
    private static final Pattern PING_COUNTS = Pattern.compile("(\\d+) packets transmitted, (\\d+) received");
    private static final Pattern PING_RTT = Pattern.compile("= [\\d.]+/([\\d.]+)/[\\d.]+/[\\d.]+ ms");

    /** Exit code and merged stdout/stderr of a command. */
    public record ExecResult(int exitCode, String output) {
        public boolean ok() {
            return exitCode == 0;
        }
    }

    /**
     * Outcome of {@link #ping}: {@code success} when every probe was answered.
     *
     * @param avgRttMillis the average round trip of the answered probes; empty when none was answered
     */
    public record PingResult(boolean success, int transmitted, int received, OptionalDouble avgRttMillis,
                             String output) {
    }

    private final String name;
    private final String netns;
    private final String underlayAddress;
    private final Path dir;
    /** Running wireguard-go processes by interface name. */
    private final Map<String, Process> wireGuard = new LinkedHashMap<>();

    SimulatedNode(String name, String netns, String underlayAddress, Path dir) {
        this.name = name;
        this.netns = netns;
        this.underlayAddress = underlayAddress;
        this.dir = dir;
    }

    public String name() {
        return name;
    }

    /** The network namespace name, as {@code ip netns list} shows it. */
    public String netns() {
        return netns;
    }

    /** The IPv4 address of {@code eth0}, without prefix length (the subnet is a /24). */
    public String underlayAddress() {
        return underlayAddress;
    }

    /** Runs a command inside the namespace ({@code ip netns exec}) with {@link #EXEC_TIMEOUT}. */
    public ExecResult exec(String... command) {
        return exec(EXEC_TIMEOUT, command);
    }

    /** Runs a command inside the namespace; throws if it does not finish within {@code timeout}. */
    public ExecResult exec(Duration timeout, String... command) {
        if (command.length == 0) {
            throw new IllegalArgumentException("empty command");
        }
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", netns));
        full.addAll(Arrays.asList(command));
        return SimulatedNetwork.run(timeout, full);
    }

    private ExecResult execChecked(String... command) {
        ExecResult result = exec(command);
        if (!result.ok()) {
            throw new IllegalStateException("'" + String.join(" ", command) + "' in " + netns + " exited "
                    + result.exitCode() + ": " + result.output().strip());
        }
        return result;
    }

    /**
     * Starts {@code wireguard-go -f <ifName>} inside this node's network namespace and in a private mount
     * namespace in which {@code /var/run/wireguard} is a bind mount of a per-node directory; returns once the
     * UAPI socket exists. The interface comes up without address, keys or peers: configure it through
     * {@link #uapiSocket} and {@link #exec} ({@code ip addr add ... dev <ifName>}, {@code ip link set ... up}).
     *
     * <p>Why the mount namespace: wireguard-go always puts its socket at {@code /var/run/wireguard/<if>.sock},
     * a path network namespaces do not separate, so two nodes both running {@code wg0} would collide. With the
     * bind mount each node's socket lands in its own directory, visible from the root namespace at
     * {@link #uapiSocket}. ({@code ip netns exec} already unshares a mount namespace to remount /sys; the
     * explicit {@code unshare -m}, private propagation being its default, does not rely on that detail.)
     * {@code -f} keeps wireguard-go in the foreground, and {@code ip}, {@code unshare} and {@code sh} all exec
     * their successor, so the process started here <em>is</em> wireguard-go: its PID is the one to signal.
     *
     * @return the wireguard-go process (SIGSTOP/SIGKILL it through {@link Process#pid()} to simulate a crash)
     */
    public synchronized Process startWireGuard(String ifName) {
        if (ifName == null || !IF_NAME.matcher(ifName).matches()) {
            throw new IllegalArgumentException("interface name must match " + IF_NAME.pattern() + ": " + ifName);
        }
        Process running = wireGuard.get(ifName);
        if (running != null && running.isAlive()) {
            throw new IllegalStateException("wireguard-go for " + ifName + " already runs in " + netns);
        }
        Path socketDir = socketDir();
        Path socket = uapiSocket(ifName);
        if (socket.toString().getBytes(StandardCharsets.UTF_8).length > MAX_SOCKET_PATH) {
            throw new IllegalStateException("UAPI socket path too long for a unix socket (set java.io.tmpdir "
                    + "to a shorter directory): " + socket);
        }
        Path log = dir.resolve("wireguard-go-" + ifName + ".log");
        try {
            // The bind mount needs an existing mount point in the (shared) root file system.
            Files.createDirectories(Path.of("/var/run/wireguard"));
            Files.createDirectories(socketDir, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
            Files.deleteIfExists(socket); // stale socket of an earlier run of the same interface
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Process process;
        try {
            // Directory and interface go in as $0 and $1, never spliced into the script: no quoting issues.
            process = new ProcessBuilder("ip", "netns", "exec", netns,
                    "unshare", "--mount", "--propagation", "private",
                    "sh", "-c", "mount --bind \"$0\" /var/run/wireguard && exec wireguard-go -f \"$1\"",
                    socketDir.toString(), ifName)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start wireguard-go in " + netns, e);
        }
        wireGuard.put(ifName, process);
        long deadline = System.nanoTime() + WIREGUARD_START_TIMEOUT.toNanos();
        while (!Files.exists(socket)) {
            boolean exited = !process.isAlive();
            if (exited || System.nanoTime() > deadline) {
                process.destroyForcibly();
                waitForExit(process);
                wireGuard.remove(ifName);
                throw new IllegalStateException("wireguard-go " + ifName + " in " + netns
                        + (exited ? " exited " + process.exitValue()
                                : " created no UAPI socket within " + WIREGUARD_START_TIMEOUT)
                        + "; log: " + readQuietly(log));
            }
            sleepMillis(2);
        }
        return process;
    }

    /** The PID of the wireguard-go process serving {@code ifName}, if one runs. */
    public synchronized OptionalLong wireGuardPid(String ifName) {
        Process p = wireGuard.get(ifName);
        return p != null && p.isAlive() ? OptionalLong.of(p.pid()) : OptionalLong.empty();
    }

    /**
     * The UAPI socket of {@code ifName} as seen from the root namespace (it exists while wireguard-go runs).
     * Speak the UAPI text protocol to it with {@link java.net.UnixDomainSocketAddress}; root only (mode 0700
     * directory, the socket itself is 0700 too).
     */
    public Path uapiSocket(String ifName) {
        return socketDir().resolve(ifName + ".sock");
    }

    /**
     * The public keys (base64) of the peers {@code ifName}'s wireguard-go holds right now, read with a UAPI
     * {@code get}. Private keys in the reply are skipped, never kept.
     */
    public java.util.Set<String> wireGuardPeers(String ifName) throws IOException {
        try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(uapiSocket(ifName)))) {
            ch.write(java.nio.ByteBuffer.wrap("get=1\n\n".getBytes(StandardCharsets.US_ASCII)));
            StringBuilder reply = new StringBuilder();
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(64 * 1024);
            while (reply.indexOf("errno=") < 0 && ch.read(buf) > 0) {
                buf.flip();
                reply.append(StandardCharsets.US_ASCII.decode(buf));
                buf.clear();
            }
            java.util.Set<String> keys = new java.util.LinkedHashSet<>();
            for (String line : reply.toString().split("\n")) {
                if (line.startsWith("public_key=")) {
                    keys.add(java.util.Base64.getEncoder().encodeToString(java.util.HexFormat.of().parseHex(line.substring(11))));
                }
            }
            return keys;
        }
    }

    /**
     * Stops every wireguard-go of this node: SIGTERM (it then removes its interface and socket), SIGKILL after
     * 5 s. Safe to call when none runs.
     */
    public synchronized void stopWireGuard() {
        for (Process p : wireGuard.values()) {
            p.destroy();
        }
        for (Process p : wireGuard.values()) {
            waitForExit(p);
        }
        wireGuard.clear();
    }

    /**
     * Drops all UDP entering or leaving through {@code eth0} (nftables, inside the namespace only), so that
     * WireGuard's UDP path is cut while TCP still passes. Idempotent.
     */
    public void blockUdp() {
        loadNft("table inet " + NFT_TABLE + " {}\n"
                + "delete table inet " + NFT_TABLE + "\n"
                + "table inet " + NFT_TABLE + " {\n"
                + "  chain input { type filter hook input priority 0; policy accept; "
                + "iifname \"eth0\" meta l4proto udp drop; }\n"
                + "  chain output { type filter hook output priority 0; policy accept; "
                + "oifname \"eth0\" meta l4proto udp drop; }\n"
                + "}\n");
    }

    /** Removes the rules of {@link #blockUdp}. Idempotent. */
    public void unblockUdp() {
        // Declaring the table first makes the delete succeed whether or not it existed.
        loadNft("table inet " + NFT_TABLE + " {}\ndelete table inet " + NFT_TABLE + "\n");
    }

    private void loadNft(String ruleset) {
        // One nft -f transaction per call: applied atomically, and no shell quoting of braces and semicolons.
        Path file = dir.resolve("nft-" + System.nanoTime() + ".nft");
        try {
            Files.writeString(file, ruleset);
            execChecked("nft", "-f", file.toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // The network's close deletes the whole dir anyway.
            }
        }
    }

    /**
     * Pings {@code address} from inside the namespace: {@code count} probes 0.2 s apart, each given 1 s to be
     * answered. Use it only for addresses inside this simulated network (the namespaces have no other route).
     */
    public PingResult ping(String address, int count) {
        if (count < 1) {
            throw new IllegalArgumentException("count must be positive");
        }
        ExecResult r = exec(Duration.ofSeconds(10 + count),
                "ping", "-n", "-q", "-c", Integer.toString(count), "-i", "0.2", "-W", "1", address);
        int transmitted = 0;
        int received = 0;
        Matcher counts = PING_COUNTS.matcher(r.output());
        if (counts.find()) {
            transmitted = Integer.parseInt(counts.group(1));
            received = Integer.parseInt(counts.group(2));
        }
        Matcher rtt = PING_RTT.matcher(r.output());
        OptionalDouble avg = rtt.find() ? OptionalDouble.of(Double.parseDouble(rtt.group(1))) : OptionalDouble.empty();
        boolean success = r.ok() && transmitted == count && received == count;
        return new PingResult(success, transmitted, received, avg, r.output());
    }

    private Path socketDir() {
        return dir.resolve("wg");
    }

    private static void waitForExit(Process p) {
        try {
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private static String readQuietly(Path file) {
        try {
            return Files.readString(file).strip();
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    private static void sleepMillis(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    @Override
    public String toString() {
        return "SimulatedNode[" + name + " netns=" + netns + " eth0=" + underlayAddress + "]";
    }
}
