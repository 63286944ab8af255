package io.dstack.vpn.agent;

import java.io.IOException;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.dstack.vpn.agent.device.WireGuardDevice;
import io.dstack.vpn.agent.uapi.DeviceState;
import io.dstack.vpn.api.peerset.StoredPeerSet;

/**
 * Every stats interval, once the newest peer set is applied: reads the device, lets the applier re-apply
 * if it drifted (changed outside the agent), and reports the handshake and traffic stats. Runs on the
 * apply thread.
 */
final class DriftMonitor implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(DriftMonitor.class);

    private final WireGuardDevice device;
    private final PeerSetApplier applier;
    private final StatusReporter status;
    private final AgentMetrics metrics;
    private final Supplier<StoredPeerSet> latest;

    DriftMonitor(WireGuardDevice device, PeerSetApplier applier, StatusReporter status, AgentMetrics metrics, Supplier<StoredPeerSet> latest) {
        this.device = device;
        this.applier = applier;
        this.status = status;
        this.metrics = metrics;
        this.latest = latest;
    }

    @Override
    public void run() {
        StoredPeerSet set = latest.get();
        if (set == null || metrics.appliedGeneration() != set.index().generation()) {
            return; // an apply is pending or failing: it reports for itself
        }
        try {
            DeviceState state = device.state();
            applier.deviceRead(state);
            metrics.peers(state.peers().size());
            status.report(set.index().generation(), state.peers().size(), state, null);
        } catch (IOException | RuntimeException e) {
            LOG.debug("stats report failed: {}", e.getMessage());
        }
    }
}
