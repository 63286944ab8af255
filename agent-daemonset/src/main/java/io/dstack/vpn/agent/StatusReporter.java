package io.dstack.vpn.agent;

import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import io.dstack.vpn.agent.uapi.DeviceState;
import io.dstack.vpn.agent.uapi.PeerState;
import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.status.ConditionSet;
import io.dstack.vpn.api.v1alpha1.VpnPeerStatus;
import io.fabric8.kubernetes.api.model.Condition;

/**
 * Writes this node's part of its VpnPeer status (through a {@link StatusWriter}):
 * {@code status.applied} and the condition {@code Applied}. When to write is {@link StatusPacing}'s call: a new
 * generation after a short random spread (so that a network's nodes do not all write at once), a failure or a
 * recovery at once, stats alone at most every {@code statsInterval}. A delayed report is replaced by a newer one.
 */
final class StatusReporter implements AppliedStatus, AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(StatusReporter.class);
    static final long RECENT_HANDSHAKE_SECONDS = 180;
    static final String REASON_APPLIED = "Applied";
    static final String REASON_FAILED = "ApplyFailed";

    private record Report(long generation, int peersConfigured, DeviceState device, String error) {
    }

    private final StatusWriter target;
    private final AgentConfig config;
    private final Clock clock;
    private final StatusPacing pacing;
    private final ScheduledExecutorService writer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "status-writer");
        t.setDaemon(true);
        return t;
    });
    private long lastReportedGeneration = -1;
    private long lastReportMillis;
    /** The conditions last written: the transition time carries over while the status stays. */
    private List<Condition> lastConditions;
    private Boolean lastOk;
    /** A report waiting for its spread to pass; a newer one replaces it. */
    private Report pending;

    StatusReporter(StatusWriter target, AgentConfig config) {
        this.target = target;
        this.config = config;
        this.clock = Clock.systemUTC();
        this.pacing = new StatusPacing(config.statsSeconds() * 1000L, config.statusSpreadMaxMillis(),
                bound -> ThreadLocalRandom.current().nextLong(bound + 1));
    }

    /** @param device the device as just read, for the stats; null reports none (zero) */
    @Override
    public synchronized void report(long generation, int peersConfigured, DeviceState device, String error) {
        Report r = new Report(generation, peersConfigured, device, error);
        if (pending != null) {
            pending = r; // already scheduled: the newest report goes out when the spread ends
            return;
        }
        StatusPacing.Decision d = pacing.decide(clock.millis(), generation, error == null, peersConfigured, lastReportedGeneration, lastOk,
                lastReportMillis);
        switch (d.kind()) {
            case SKIP -> {
            }
            case NOW -> write(r);
            case LATER -> {
                pending = r;
                writer.schedule(this::writePending, d.delayMillis(), TimeUnit.MILLISECONDS);
            }
        }
    }

    private synchronized void writePending() {
        Report r = pending;
        pending = null;
        if (r == null) {
            return;
        }
        try {
            write(r);
        } catch (RuntimeException e) {
            // The drift check reports again within the stats interval; the data plane does not wait for this.
            LOG.warn("could not write the status of peer set generation {}: {}", r.generation(), e.getMessage());
        }
    }

    private void write(Report r) {
        long now = clock.millis();
        boolean ok = r.error() == null;
        VpnPeerStatus status = status(r.generation(), r.peersConfigured(), r.device(), r.error(), config.iface(), lastConditions, clock);
        target.write(status);
        lastReportedGeneration = r.generation();
        lastReportMillis = now;
        lastConditions = status.conditions;
        lastOk = ok;
    }

    @Override
    public void close() {
        writer.shutdownNow();
    }

    /** The agent's fields of the status, and nothing else (the other writers own the rest). */
    static VpnPeerStatus status(long generation, int peersConfigured, DeviceState device, String error, String iface,
            List<Condition> previous, Clock clock) {
        long nowSeconds = clock.millis() / 1000;
        VpnPeerStatus.AppliedState applied = new VpnPeerStatus.AppliedState();
        applied.generation = generation;
        applied.time = Instant.now(clock).truncatedTo(ChronoUnit.SECONDS).toString();
        applied.peersConfigured = peersConfigured;
        int recent = 0;
        long rx = 0;
        long tx = 0;
        if (device != null) {
            for (PeerState p : device.peers().values()) {
                if (p.lastHandshakeEpochSeconds() > 0 && nowSeconds - p.lastHandshakeEpochSeconds() <= RECENT_HANDSHAKE_SECONDS) {
                    recent++;
                }
                rx += p.rxBytes();
                tx += p.txBytes();
            }
        }
        applied.peersWithRecentHandshake = recent;
        applied.rxBytes = rx;
        applied.txBytes = tx;
        boolean ok = error == null;
        VpnPeerStatus status = new VpnPeerStatus();
        status.applied = applied;
        status.conditions = new ConditionSet(previous, clock)
                .set(Conditions.APPLIED, ok, ok ? REASON_APPLIED : REASON_FAILED,
                        ok ? "peer set generation " + generation + " applied to " + iface : error)
                .build();
        return status;
    }
}
