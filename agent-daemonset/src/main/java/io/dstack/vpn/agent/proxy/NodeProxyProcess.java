package io.dstack.vpn.agent.proxy;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.dstack.vpn.proxy.ProxyMain;

/**
 * {@code dstack-vpn-proxy node} as a child process, started through the agent's command prefix so that it
 * runs in the node's network namespace (the host's, in the DaemonSet; a simulated node's, in tests). Tunnels
 * are requested on its standard input, one line each; closing that input stops it, so it never outlives
 * the agent.
 */
public final class NodeProxyProcess implements NodeTunnels {
    private static final Logger LOG = LoggerFactory.getLogger(NodeProxyProcess.class);

    private final Process process;
    private final BufferedWriter commands;
    private final BufferedReader replies;

    private NodeProxyProcess(Process process) {
        this.process = process;
        this.commands = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
        this.replies = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    }

    /** A launcher that runs the proxy with {@code prefix} (e.g. {@code ip netns exec <ns>}; empty on a node). */
    public static Launcher launcher(List<String> prefix) {
        return (tcpPort, wireGuardPort) -> {
            List<String> cmd = new ArrayList<>(prefix);
            cmd.addAll(command(tcpPort, wireGuardPort));
            Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            LOG.info("node proxy started (pid {}): TCP :{} -> WireGuard 127.0.0.1:{}", p.pid(), tcpPort, wireGuardPort);
            return new NodeProxyProcess(p);
        };
    }

    /** The node proxy's command line (without prefix): tcp2udp on {@code tcpPort} to WireGuard on this node. */
    public static List<String> command(int tcpPort, int wireGuardPort) {
        List<String> cmd = new ArrayList<>(javaCommand());
        cmd.addAll(List.of(ProxyMain.class.getName(), "node",
                "--tcp-listen", "0.0.0.0:" + tcpPort,
                "--udp-forward", "127.0.0.1:" + wireGuardPort,
                "--udp-bind", "127.0.0.1"));
        return cmd;
    }

    /**
     * {@code java} with the flags the node proxy runs with, up to the main class. Its heap bounds its connection
     * limit (tcp2udp derives it from the heap); ExitOnOutOfMemoryError makes a proxy that ran out of memory exit
     * (the agent sees it dead and starts a new one) instead of lingering and serving nobody. Full tiered JIT (no
     * TieredStopAtLevel=1): C2 gave 1.13–1.2× the throughput at 0.73–0.88× the CPU per GB for ~10 MiB more RSS
     * (docs/benchmarks.md).
     */
    public static List<String> javaCommand() {
        return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx32m", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError",
                "-cp", proxyJar());
    }

    private static String proxyJar() {
        try {
            return Path.of(ProxyMain.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot locate the proxy classes", e);
        }
    }

    @Override
    public synchronized int open(String id, String target) throws IOException {
        String reply = request("tunnel " + id + " " + target);
        String prefix = "tunnel " + id + " ";
        if (!reply.startsWith(prefix)) {
            throw new IOException("the node proxy could not open a tunnel to " + target + ": " + reply);
        }
        return Integer.parseInt(reply.substring(prefix.length()).trim());
    }

    @Override
    public synchronized void close(String id) throws IOException {
        request("close " + id);
    }

    @Override
    public synchronized java.util.Map<String, Long> dials() throws IOException {
        String reply = request("dials");
        if (!reply.equals("dials") && !reply.startsWith("dials ")) {
            throw new IOException("the node proxy did not report its dials: " + reply);
        }
        java.util.Map<String, Long> out = new java.util.HashMap<>();
        for (String pair : reply.substring("dials".length()).trim().split("\\s+")) {
            int eq = pair.lastIndexOf('=');
            if (eq > 0) {
                out.put(pair.substring(0, eq), Long.parseLong(pair.substring(eq + 1)));
            }
        }
        return out;
    }

    private String request(String line) throws IOException {
        commands.write(line);
        commands.newLine();
        commands.flush();
        String reply = replies.readLine();
        if (reply == null) {
            throw new IOException("the node proxy exited (code " + (process.isAlive() ? "?" : process.exitValue()) + ")");
        }
        return reply;
    }

    @Override
    public boolean alive() {
        return process.isAlive();
    }

    @Override
    public void close() {
        try {
            commands.close(); // end of input: the proxy closes its tunnels and exits
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (IOException e) {
            process.destroyForcibly();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
