package io.dstack.vpn.agent;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.dstack.vpn.agent.nodeapi.NodeApiClient;
import io.dstack.vpn.agent.nodeapi.NodeApiRefused;
import io.dstack.vpn.agent.nodeapi.PeerSetUpdate;
import io.fabric8.kubernetes.api.model.ConfigMap;

/**
 * A standalone node's control plane: the node API (ADR 0015). One thread long-polls for peer-set objects newer than
 * the generation it holds and hands each to the watcher, which applies complete sets exactly as in a cluster. While
 * the API refuses the node (not granted yet, or revoked: {@code NotAMember}) it keeps its last peer set and asks
 * again every {@link #REFUSED_RETRY_MILLIS}; on transport errors it backs off exponentially up to
 * {@link #MAX_BACKOFF_MILLIS}. Each change of state is logged once, not every retry.
 */
final class NodeApiControlPlane implements ControlPlane {
    private static final Logger LOG = LoggerFactory.getLogger(NodeApiControlPlane.class);
    /** A refused node waits for a grant: ask about as often as blocks come, so it joins within ~2 s of admission. */
    static final long REFUSED_RETRY_MILLIS = 2_000;
    static final long MAX_BACKOFF_MILLIS = 30_000;
    private static final String NOT_A_MEMBER = "refused:NotAMember";

    private final NodeApiClient client;
    private final String publicKey;
    /** Run when the API serves this node again after refusing it (a new grant): its peers dropped its sessions. */
    private final Runnable readmitted;
    private Thread poller;
    private volatile boolean closed;

    NodeApiControlPlane(NodeApiClient client, String publicKey, Runnable readmitted) {
        this.client = client;
        this.publicKey = publicKey;
        this.readmitted = readmitted;
    }

    @Override
    public void publish(String publicKey) {
        // The VpnPeer of a standalone node is written by `dstack-vpn node-bundle --public-key`: the node has no
        // right to create one, and nothing to send (its key is in the peer set once admitted).
    }

    @Override
    public void watch(PeerSetWatcher watcher) {
        poller = Thread.ofPlatform().daemon().name("node-api-poll").start(() -> pollLoop(watcher));
    }

    private void pollLoop(PeerSetWatcher watcher) {
        long known = 0;
        String state = "";
        int failures = 0;
        boolean served = false;
        while (!closed) {
            long wait = 0;
            try {
                Optional<PeerSetUpdate> update = client.pollPeerSet(known);
                if (update.isPresent()) {
                    for (ConfigMap cm : update.get().objects()) {
                        watcher.received(cm);
                    }
                    // An incomplete set (should not happen: the API sends every shard above `known`) is asked again whole.
                    known = watcher.latest() == null ? 0 : Math.max(known, update.get().generation());
                }
                if (served && state.equals(NOT_A_MEMBER) && update.isPresent() && watcher.latest() != null) {
                    readmitted.run(); // after the watcher queued the new set's apply: the renewal runs after it
                }
                served = true;
                state = logChange(state, "member", () -> LOG.info("the node API serves this node its peer set"));
                failures = 0;
            } catch (NodeApiRefused e) {
                state = logChange(state, e.notAMember() ? NOT_A_MEMBER : "refused:" + e.reason(), () -> LOG.warn(
                        "the node API refuses this node ({}): {}; keeping the last peer set and asking again every {} s (public key {})",
                        e.reason(), e.getMessage(), REFUSED_RETRY_MILLIS / 1000, publicKey));
                wait = REFUSED_RETRY_MILLIS;
            } catch (IOException e) {
                failures++;
                wait = Math.min(MAX_BACKOFF_MILLIS, 500L << Math.min(failures, 6));
                String message = e.getMessage();
                state = logChange(state, "unreachable", () -> LOG.warn("the node API is unreachable or answered badly ({}); retrying with back-off",
                        message));
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // A bug or a malformed object must not end the loop: the node would never hear of a revocation again.
                LOG.error("node API poll failed", e);
                wait = MAX_BACKOFF_MILLIS;
            }
            if (wait > 0 && !sleep(wait)) {
                return;
            }
        }
    }

    private static String logChange(String previous, String next, Runnable log) {
        if (!previous.equals(next)) {
            log.run();
        }
        return next;
    }

    private boolean sleep(long millis) {
        try {
            Thread.sleep(millis);
            return !closed;
        } catch (InterruptedException e) {
            return false;
        }
    }

    @Override
    public StatusWriter statusWriter() {
        return status -> {
            try {
                client.putStatus(status);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while writing the status", e);
            }
        };
    }

    @Override
    public void close() {
        closed = true;
        if (poller != null) {
            poller.interrupt(); // ends a long poll in flight: the JDK HTTP client's send is interruptible
        }
    }
}
