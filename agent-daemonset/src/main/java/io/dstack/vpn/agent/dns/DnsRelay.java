package io.dstack.vpn.agent.dns;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * DNS for a simulated node (the agent runs on the host, its node in a network namespace, {@code NETNS}): a
 * {@link DnsRelayChild} inside the namespace holds the UDP socket and hands each datagram to this side, where the
 * same {@link DnsResponder} as on a real node answers it. Like the node proxy's process mode (ADR 0008): the
 * namespace needs a process of its own. A child that dies is started again, after 1 s, doubling up to 30 s.
 * UDP only: a simulation's resolver (dig) needs nothing else.
 */
final class DnsRelay implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DnsRelay.class);
    private static final long MAX_BACKOFF_MILLIS = 30_000;

    private final List<String> command;
    private final DnsResponder responder;
    private final DnsMetrics metrics;
    private final Thread thread;
    private volatile Process process;
    private volatile boolean closed;

    private DnsRelay(List<String> command, DnsResponder responder, DnsMetrics metrics) {
        this.command = command;
        this.responder = responder;
        this.metrics = metrics;
        this.thread = Thread.ofPlatform().daemon().name("dns-relay").unstarted(this::run);
    }

    /** @param prefix runs the child in the node's namespace, e.g. {@code ip netns exec <ns>} */
    static DnsRelay start(List<String> prefix, InetSocketAddress bind, DnsResponder responder, DnsMetrics metrics) {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx16m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:+ExitOnOutOfMemoryError",
                "-cp", classPath(), DnsRelayChild.class.getName(), bind.getAddress().getHostAddress(), Integer.toString(bind.getPort())));
        DnsRelay relay = new DnsRelay(List.copyOf(cmd), responder, metrics);
        relay.thread.start();
        return relay;
    }

    private void run() {
        long backoff = 1000;
        while (!closed) {
            try {
                Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
                process = p;
                if (serve(p)) {
                    backoff = 1000; // it ran: the next failure starts the back-off afresh
                }
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("DNS relay: {}", e.toString());
                }
            } finally {
                metrics.up(false);
                Process p = process;
                if (p != null) {
                    p.destroy();
                }
            }
            if (closed) {
                return;
            }
            LOG.warn("DNS relay process ended; starting it again in {} ms", backoff);
            try {
                Thread.sleep(backoff);
            } catch (InterruptedException e) {
                return;
            }
            backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
        }
    }

    /** Answers the child's datagrams until it ends; true if it got as far as listening. */
    private boolean serve(Process p) throws IOException {
        DataInputStream in = new DataInputStream(new BufferedInputStream(p.getInputStream()));
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(p.getOutputStream()));
        if (in.read() != 1) {
            return false; // it could not bind (it said why on stderr)
        }
        metrics.up(true);
        LOG.info("DNS relay (pid {}) listening in the node's namespace", p.pid());
        while (!closed) {
            DnsRelayChild.Frame query;
            try {
                query = DnsRelayChild.readFrame(in);
            } catch (java.io.EOFException e) {
                return true;
            }
            byte[] response = responder.respond(query.payload(), query.payload().length, query.peer().getAddress());
            if (response != null) {
                DnsRelayChild.writeFrame(out, query.peer(), response, response.length);
                out.flush();
            }
        }
        return true;
    }

    private static String classPath() {
        try {
            return Path.of(DnsRelayChild.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot locate the agent's classes", e);
        }
    }

    @Override
    public void close() {
        closed = true;
        Process p = process;
        if (p != null) {
            p.destroy(); // closing its stdin would do too; destroy does not wait for a busy child
        }
        thread.interrupt();
    }
}
