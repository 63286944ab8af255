package io.dstack.vpn.agent;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
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
import io.dstack.vpn.api.peerset.StoredPeerSet;
import io.dstack.vpn.api.wireguard.WireGuardKey;

/**
 * Applies the newest complete peer set to the device as per-peer changes and reports the generation at once. When
 * only peers of other nodes changed since the last apply (same header, same shard layout, same own entry), it
 * re-derives just the peers of the changed shards ({@link AppliedPeerSet}): a one-peer change costs one shard, not
 * the whole set. Anything else (first apply, header or own entry changed, reshard, device replaced or drifted,
 * retry after a failure, a re-dialled tunnel, a dead proxy) takes the full path over the whole set, whose result
 * the incremental path must equal (PeerSetApplierTest). A failed apply is reported with the last good generation
 * and retried. Every method runs on the apply thread, which owns the device model, the interface address and the
 * proxy's tunnels.
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
    private final AppliedStatus status;
    private final AgentMetrics metrics;
    private final ScheduledExecutorService applyThread;
    private final Supplier<StoredPeerSet> latest;
    private final WireGuardKey key;
    private String lastOwnAddress;
    /** What the device holds, as far as the agent knows; null = ask the device. */
    private DeviceModel known;
    /** What the last apply configured; null = the next apply takes the full path. */
    private AppliedPeerSet applied;
    /** Applies that took the incremental path (tests check that it is taken). */
    private long incrementalApplies;

    private record Outcome(int peers, int changes) {
    }

    PeerSetApplier(AgentConfig config, WireGuardDevice device, InterfaceSetup interfaceSetup, ProxyRouting proxyRouting,
            EndpointResolver endpoints, AppliedStatus status, AgentMetrics metrics, ScheduledExecutorService applyThread,
            Supplier<StoredPeerSet> latest, WireGuardKey key) {
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
        applied = null;
        StoredPeerSet set = latest.get();
        try {
            device.configure(key, set == null ? DEFAULT_LISTEN_PORT : set.index().listenPort());
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
            applied = null;
            applyLatest();
        }
    }

    /** Diff and apply the newest peer set; report the generation at once. */
    void applyLatest() {
        StoredPeerSet set = latest.get();
        if (set == null) {
            return;
        }
        long generation = set.index().generation();
        long start = System.nanoTime();
        try {
            Outcome done = applyChangedShards(set);
            boolean incremental = done != null;
            if (incremental) {
                incrementalApplies++;
            } else {
                done = applyWhole(set);
            }
            long nanos = System.nanoTime() - start;
            metrics.applied(generation, done.peers(), done.changes(), nanos);
            metrics.tunnels(proxyRouting.tunnelCount());
            LOG.info("applied peer set generation {} ({}): {} peers, {} changes in {} ms", generation,
                    incremental ? "changed shards" : "whole set", done.peers(), done.changes(), nanos / 1_000_000);
            status.report(generation, done.peers(), null, null);
        } catch (IOException | RuntimeException e) {
            known = null;
            applied = null;
            metrics.failed();
            LOG.warn("applying peer set generation {} failed: {}", generation, e.getMessage());
            try {
                // Report what is really applied (the last good generation), with the failure as the condition.
                status.report(metrics.appliedGeneration(), 0, null, "applying generation " + generation + " failed: " + e.getMessage());
            } catch (RuntimeException reportFailed) {
                LOG.warn("could not report the failure: {}", reportFailed.getMessage());
            }
            applyThread.schedule(this::applyLatest, RETRY_SECONDS, TimeUnit.SECONDS);
        }
    }

    /**
     * The incremental path: only the peers of the shards whose object changed are viewed, resolved, routed and
     * diffed against the device model. Null when it does not apply and the whole set must be.
     */
    private Outcome applyChangedShards(StoredPeerSet set) throws IOException {
        List<AppliedPeerSet.PeerChange> changed = applied == null || known == null ? null : applied.changesTo(set);
        if (changed == null || !proxyRouting.readyFor(applied.header())) {
            return null;
        }
        PeerSet header = applied.header();
        boolean member = applied.self() != null;
        // Views and endpoints first (no side effects), so that a key moving between node ids can still fall back.
        List<DesiredPeer> wanted = new ArrayList<>(changed.size());
        Set<String> keys = new HashSet<>();
        for (AppliedPeerSet.PeerChange c : changed) {
            DesiredPeer d = c.after() == null || !member ? null : PeerSetView.desiredPeer(header, config.nodeId(), c.after());
            if (d != null) {
                d = endpoints.resolve(d);
                if (applied.keyHeldByOther(d.publicKey(), d.nodeId()) || !keys.add(d.publicKey())) {
                    return null;
                }
            }
            wanted.add(d);
        }
        boolean selfTcp = member && "TCP".equals(applied.self().transport());
        List<PeerDiff.Change> changes = new ArrayList<>();
        for (int i = 0; i < changed.size(); i++) {
            AppliedPeerSet.PeerChange c = changed.get(i);
            DesiredPeer routed = proxyRouting.routeOne(header, selfTcp, c.nodeId(), wanted.get(i),
                    c.after() == null ? null : c.after().transport());
            PeerDiff.computeOne(applied.configured(c.nodeId()), routed, known.peers(), changes);
            applied.configured(c.nodeId(), routed);
        }
        device.apply(changes);
        known.applied(changes);
        applied.advanceTo(set);
        return new Outcome(applied.peerCount(), changes.size());
    }

    /** The full path: this node's view of the whole set, every peer resolved and routed, diffed against the model. */
    private Outcome applyWhole(StoredPeerSet stored) throws IOException {
        applied = null;
        PeerSet set = stored.whole();
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
        // Diff against what we know the device holds: no read of every peer (the drift check re-reads the device).
        List<PeerDiff.Change> changes = PeerDiff.compute(desired, known.peers());
        device.apply(changes);
        known.applied(changes);
        applied = AppliedPeerSet.of(stored, set, config.nodeId(), desired);
        return new Outcome(desired.size(), changes.size());
    }

    /** The next apply takes the full path (tests compare both paths). */
    void forgetApplied() {
        applied = null;
    }

    long incrementalApplies() {
        return incrementalApplies;
    }

    /**
     * Renews the WireGuard session with each peer whose tunnel had to dial again ({@link ProxyRouting#redialed}):
     * the peer is removed and added again in one device update, so it forgets the stale session and its
     * persistent keepalive opens with a handshake at once. Without this a restarted node could not reach this
     * (TCP) node for up to two minutes.
     */
    void renewRedialedSessions() {
        try {
            renew(proxyRouting.redialed(), "the tunnel dialled again (that node restarted?)");
        } catch (IOException | RuntimeException e) {
            LOG.warn("could not renew the sessions of re-dialled tunnels: {}", e.getMessage());
        }
    }

    /**
     * This node was out of the peer set (revoked, suspended) and is back. The others dropped its key meanwhile, and with
     * it the session its WireGuard still holds; they cannot handshake first with a node that has no endpoint, and its
     * keepalives do not make WireGuard handshake again. So renew every session that goes through a tunnel now,
     * rather than after up to two minutes.
     */
    void renewTunnelSessions() {
        try {
            renew(proxyRouting.routedThroughTunnels(), "this node is in the peer set again");
        } catch (IOException | RuntimeException e) {
            LOG.warn("could not renew the tunnel sessions: {}", e.getMessage());
        }
    }

    private void renew(List<DesiredPeer> peers, String why) throws IOException {
        if (peers.isEmpty() || known == null) {
            return;
        }
        List<PeerDiff.Change> renew = new ArrayList<>();
        for (DesiredPeer peer : peers) {
            renew.add(new PeerDiff.Remove(peer.publicKey()));
            renew.add(new PeerDiff.Upsert(peer, false));
        }
        device.apply(renew);
        known.applied(renew);
        applied = null; // the next apply checks every peer again
        metrics.sessionsRenewed(peers.size());
        LOG.info("renewed the WireGuard session with {}: {}", peers.stream().map(DesiredPeer::nodeId).toList(), why);
    }

    /** Closes the proxy's tunnels (the proxy would end with the agent anyway; this is quicker). */
    @Override
    public void close() {
        proxyRouting.close();
    }
}
