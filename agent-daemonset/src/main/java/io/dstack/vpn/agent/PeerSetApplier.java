package io.dstack.vpn.agent;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.dstack.vpn.agent.device.WireGuardDevice;
import io.dstack.vpn.agent.node.InterfaceSetup;
import io.dstack.vpn.agent.peers.EndpointResolver;
import io.dstack.vpn.agent.peers.PeerDiff;
import io.dstack.vpn.agent.proxy.ProxyRouting;
import io.dstack.vpn.agent.uapi.DeviceState;
import io.dstack.vpn.api.peerset.DesiredPeer;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetView;
import io.dstack.vpn.api.wireguard.WireGuardKey;

/**
 * Applies the newest peer set to the device as per-peer changes and reports the generation at once. A
 * failed apply is reported with the last good generation and retried. Every method runs on the apply
 * thread, which owns the device model, the interface address and the proxy's tunnels.
 */
final class PeerSetApplier implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PeerSetApplier.class);
    static final int DEFAULT_LISTEN_PORT = 51820;
    static final long RETRY_SECONDS = 5;

    private final AgentConfig config;
    private final WireGuardDevice device;
    /** Null for the memory backend (scale tests): it has no interface. */
    private final InterfaceSetup interfaceSetup;
    /** TCP transport through the node proxy. */
    private final ProxyRouting proxyRouting;
    private final EndpointResolver endpoints;
    private final StatusReporter status;
    private final AgentMetrics metrics;
    private final ScheduledExecutorService applyThread;
    private final Supplier<PeerSet> latest;
    private final WireGuardKey key;
    private String lastOwnAddress;
    /** What the device holds, as far as the agent knows; null = ask the device. */
    private DeviceModel known;

    PeerSetApplier(AgentConfig config, WireGuardDevice device, InterfaceSetup interfaceSetup, ProxyRouting proxyRouting,
            EndpointResolver endpoints, StatusReporter status, AgentMetrics metrics, ScheduledExecutorService applyThread,
            Supplier<PeerSet> latest, WireGuardKey key) {
        this.config = config;
        this.device = device;
        this.interfaceSetup = interfaceSetup;
        this.proxyRouting = proxyRouting;
        this.endpoints = endpoints;
        this.status = status;
        this.metrics = metrics;
        this.applyThread = applyThread;
        this.latest = latest;
        this.key = key;
    }

    /** A new device (wireguard-go restarted): address, key and every peer again. */
    void deviceReplaced() {
        lastOwnAddress = null;
        known = null;
        PeerSet set = latest.get();
        try {
            device.configure(key, set == null ? DEFAULT_LISTEN_PORT : set.listenPort());
        } catch (IOException e) {
            LOG.warn("could not configure the restarted device: {}", e.getMessage());
        }
        applyLatest();
    }

    /** The device read by the drift check: when it differs from what was applied, take it as the truth and re-apply. */
    void deviceRead(DeviceState state) {
        if (known != null && !known.matches(state)) {
            LOG.warn("{} differs from what the agent applied (changed outside the agent?); re-applying", config.iface());
            known = new DeviceModel(state);
            applyLatest();
        }
    }

    /** Diff and apply the newest peer set; report the generation at once. */
    void applyLatest() {
        PeerSet set = latest.get();
        if (set == null) {
            return;
        }
        long start = System.nanoTime();
        try {
            String own = set.peers().stream().filter(p -> p.nodeId().equals(config.nodeId())).map(PeerSet.Peer::address)
                    .findFirst().orElse(null);
            if ((lastOwnAddress == null || !lastOwnAddress.equals(own)) && interfaceSetup != null) {
                interfaceSetup.apply(own, set.cidr(), set.mtu());
                lastOwnAddress = own;
            }
            List<DesiredPeer> desired = proxyRouting.route(set, endpoints.resolve(PeerSetView.desiredFor(set, config.nodeId())));
            if (known == null) {
                known = new DeviceModel(device.state()); // first apply, or after an error: ask the device
            }
            if (known.listenPort() != set.listenPort()) {
                device.configure(key, set.listenPort());
                known.listenPort(set.listenPort());
            }
            // Diff against what we know the device holds: a one-peer change costs one small UAPI set, not a
            // read of every peer (the drift check re-reads the device).
            List<PeerDiff.Change> changes = PeerDiff.compute(desired, known.peers());
            device.apply(changes);
            known.applied(changes);
            long nanos = System.nanoTime() - start;
            metrics.applied(set.generation(), desired.size(), changes.size(), nanos);
            metrics.tunnels(proxyRouting.tunnelCount());
            LOG.info("applied peer set generation {}: {} peers, {} changes in {} ms", set.generation(), desired.size(), changes.size(),
                    nanos / 1_000_000);
            status.report(set.generation(), desired.size(), null, null);
        } catch (IOException | RuntimeException e) {
            known = null;
            metrics.failed();
            LOG.warn("applying peer set generation {} failed: {}", set.generation(), e.getMessage());
            try {
                // Report what is really applied (the last good generation), with the failure as the condition.
                status.report(metrics.appliedGeneration(), 0, null, "applying generation " + set.generation() + " failed: " + e.getMessage());
            } catch (RuntimeException reportFailed) {
                LOG.warn("could not report the failure: {}", reportFailed.getMessage());
            }
            applyThread.schedule(this::applyLatest, RETRY_SECONDS, TimeUnit.SECONDS);
        }
    }

    /**
     * Renews the WireGuard session with each peer whose tunnel had to dial again ({@link ProxyRouting#redialed}):
     * the peer is removed and added again in one device update, so it forgets the stale session and its
     * persistent keepalive opens with a handshake at once. Without this a restarted node could not reach this
     * (TCP) node for up to two minutes.
     */
    void renewRedialedSessions() {
        try {
            List<DesiredPeer> redialed = proxyRouting.redialed();
            if (redialed.isEmpty() || known == null) {
                return;
            }
            List<PeerDiff.Change> renew = new ArrayList<>();
            for (DesiredPeer peer : redialed) {
                renew.add(new PeerDiff.Remove(peer.publicKey()));
                renew.add(new PeerDiff.Upsert(peer, false));
            }
            device.apply(renew);
            known.applied(renew);
            metrics.sessionsRenewed(redialed.size());
            LOG.info("renewed the WireGuard session with {}: the tunnel dialled again (that node restarted?)",
                    redialed.stream().map(DesiredPeer::nodeId).toList());
        } catch (IOException | RuntimeException e) {
            LOG.warn("could not renew the sessions of re-dialled tunnels: {}", e.getMessage());
        }
    }

    /** Closes the proxy's tunnels (the proxy would end with the agent anyway; this is quicker). */
    @Override
    public void close() {
        proxyRouting.close();
    }
}
