package io.dstack.vpn.agent.node;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs wireguard-go in the foreground ({@code -f}, so its PID is ours) when the node has no kernel WireGuard,
 * and starts it again if it dies; {@code onRestart} then re-applies the key and every peer, because a new
 * device starts empty.
 */
public final class WireGuardGoSupervisor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WireGuardGoSupervisor.class);

    private final String iface;
    private final Path socket;
    private final List<String> prefix;
    private final Runnable onRestart;
    private volatile Process process;
    private volatile boolean closed;

    public WireGuardGoSupervisor(String iface, Path socket, List<String> prefix, Runnable onRestart) {
        this.iface = iface;
        this.socket = socket;
        this.prefix = prefix;
        this.onRestart = onRestart;
    }

    /**
     * Starts wireguard-go unless one already answers on its socket (it survived an agent restart in the same
     * network namespace). A socket file nobody answers on is left over from a wireguard-go that died with its
     * container (the socket directory is a hostPath): it is removed and a new wireguard-go started.
     */
    public void ensureRunning() throws IOException {
        if (answers(socket)) {
            return;
        }
        if (Files.deleteIfExists(socket)) {
            LOG.info("removed {}: the wireguard-go that created it is gone", socket);
        }
        start();
    }

    /** True if a process accepts connections on the UAPI socket. */
    static boolean answers(Path socket) {
        if (!Files.exists(socket)) {
            return false;
        }
        try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private void start() throws IOException {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of("wireguard-go", "-f", iface));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("WG_PROCESS_FOREGROUND", "1");
        process = pb.start();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!answers(socket)) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                throw new IOException("wireguard-go for " + iface + " did not answer on " + socket);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
        }
        LOG.info("wireguard-go runs {} (pid {})", iface, process.pid());
        process.onExit().thenRun(this::exited);
    }

    private void exited() {
        if (closed) {
            return;
        }
        LOG.warn("wireguard-go for {} exited with {}; starting it again", iface, process.exitValue());
        try {
            Files.deleteIfExists(socket);
            start();
            onRestart.run();
        } catch (IOException e) {
            LOG.error("could not restart wireguard-go: {}", e.getMessage());
        }
    }

    /** Leaves wireguard-go running: traffic goes on while the agent restarts. */
    @Override
    public void close() {
        closed = true;
    }
}
