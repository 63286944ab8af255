package io.dstack.vpn.operator.chain;

import java.math.BigInteger;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

import io.dstack.vpn.chain.follower.ChainFollower;
import io.dstack.vpn.chain.follower.Checkpoint;
import io.dstack.vpn.chain.follower.FollowerConfig;
import io.dstack.vpn.chain.follower.FollowerHealth;
import io.dstack.vpn.chain.follower.FollowerListener;
import io.dstack.vpn.chain.registry.AccessRegistry;
import io.dstack.vpn.chain.registry.TokenRecord;
import io.dstack.vpn.chain.rpc.RpcClient;
import io.dstack.vpn.chain.rpc.RpcLimits;

/**
 * One network's view of the chain: a follower polling on its own thread into its own registry. It
 * tells the reconcilers only what changes a decision: the node ids whose token changed (or crossed the
 * confirmation threshold), and the network when its health or position should be shown.
 */
final class ChainSource implements FollowerListener {

    /** What a decision about a node id depends on; a change of it is worth a reconcile. */
    private record DecisionInput(BigInteger tokenId, String key, String owner, boolean active, boolean valid,
            boolean confirmed, long transferredAt, long keyBoundAt) {
    }

    /**
     * The newest token per node id and the head they were read with, as of the last registry change. Decisions
     * read it in O(1): {@link AccessRegistry#latestFor} scans every token under the registry's lock, and a
     * network reconcile decides every peer, so with it a 5,000-peer network cost 25 million record visits per
     * reconcile (and the peers' reconciles serialized on that lock). Rebuilt in {@link #registryChanged}, which
     * runs after every change and before the reconcilers are woken, so a woken reconcile sees the change.
     */
    record View(long head, Map<String, TokenRecord> latest) {
    }

    private final ChainSourceKey key;
    private final ChainMetrics metrics;
    private final AccessRegistry registry = new AccessRegistry();
    private final ChainFollower follower;
    private final PollThread polls;
    /** Called with the node ids whose decision input changed, or null for "all of them". */
    private final Consumer<Set<String>> nodesChanged;
    private final Runnable networkChanged;
    private final Consumer<Checkpoint> checkpointSink;
    private volatile int grantConfirmations;
    private volatile FollowerHealth health;
    private Map<String, DecisionInput> lastInputs = Map.of();
    private volatile View view;
    private boolean announcedSync;
    private FollowerHealth lastAnnounced;
    private long lastAnnouncedAt;

    ChainSource(ChainSourceKey key, int grantConfirmations, Checkpoint resumeFrom, RpcLimits limits, ChainMetrics metrics, Consumer<Set<String>> nodesChanged, Runnable networkChanged, Consumer<Checkpoint> checkpointSink) {
        this.key = key;
        this.metrics = metrics;
        this.grantConfirmations = grantConfirmations;
        this.nodesChanged = nodesChanged;
        this.networkChanged = networkChanged;
        this.checkpointSink = checkpointSink;
        Duration poll = Durations.parse(key.pollInterval(), Duration.ofSeconds(2));
        FollowerConfig config = FollowerConfig.of(key.contract(), key.chainId(), key.fromBlock(), poll,
                Durations.parse(key.resyncInterval(), Duration.ofMinutes(5)));
        // Two rounds over the endpoints per call, 3 s each (the whole request): the poll loop itself is the retry,
        // so an outage shows in the status within seconds instead of after a long in-call backoff.
        RpcClient rpc = new RpcClient(key.rpcUrls(), limits, 2 * key.rpcUrls().size(), Duration.ofMillis(200),
                Duration.ofSeconds(2), metrics.rpcListener(key.namespace(), key.network()));
        this.follower = new ChainFollower(rpc, config, registry, this, Clock.systemUTC());
        if (resumeFrom != null) {
            follower.resumeFrom(resumeFrom);
        }
        this.health = follower.health();
        registry.addListener(this::registryChanged);
        this.polls = PollThread.start("chain-follower-" + key.namespace() + "/" + key.network(), follower::poll, poll);
    }

    ChainSourceKey key() {
        return key;
    }

    AccessRegistry registry() {
        return registry;
    }

    FollowerHealth health() {
        return health;
    }

    int grantConfirmations() {
        return grantConfirmations;
    }

    void setGrantConfirmations(int k) {
        if (k != grantConfirmations) {
            grantConfirmations = k;
            registryChanged();
        }
    }

    void stop() {
        polls.stop();
    }

    /**
     * The newest token per node id with its head. Built on every registry change once synced; before the first
     * build (the instant between the registry's sync and its listener), built from the registry directly.
     */
    View view() {
        View v = view;
        return v != null ? v : buildView();
    }

    private View buildView() {
        long head = registry.head();
        Map<String, TokenRecord> latest = new HashMap<>();
        for (TokenRecord t : registry.all()) {
            latest.merge(t.nodeId(), t, (a, b) -> a.tokenId().compareTo(b.tokenId()) >= 0 ? a : b);
        }
        return new View(head, latest);
    }

    /** Confirmations a token's current key has: 1 in the block that carried it. */
    static long confirmations(TokenRecord t, long head) {
        return head < 0 ? 0 : head - Math.max(t.grantedAt(), t.keyBoundAt()) + 1;
    }

    private synchronized void registryChanged() {
        if (!registry.synced()) {
            return;
        }
        View v = buildView();
        view = v;
        Map<String, DecisionInput> now = new HashMap<>();
        v.latest().forEach((node, t) -> now.put(node, new DecisionInput(t.tokenId(), t.publicKey(), t.owner(), t.active(), t.valid(),
                confirmations(t, v.head()) >= grantConfirmations, t.transferredAt(), t.keyBoundAt())));
        Set<String> changed = new HashSet<>();
        now.forEach((node, in) -> {
            if (!in.equals(lastInputs.get(node))) {
                changed.add(node);
            }
        });
        lastInputs.keySet().stream().filter(n -> !now.containsKey(n)).forEach(changed::add);
        boolean first = !announcedSync;
        announcedSync = true;
        lastInputs = now;
        // The network first: JOSDK runs every controller's reconciles on one shared pool, first come first served,
        // and the peer set (what agents apply) must not queue behind thousands of peer status reconciles (the
        // first sync wakes every peer: with 5,000 waiting, the peer set was rendered 40 s after the sync).
        if (first) {
            networkChanged.run();
            nodesChanged.accept(null); // first sync: every peer, with a token or not, can be decided now
        } else if (!changed.isEmpty()) {
            networkChanged.run();
            nodesChanged.accept(changed);
        }
    }

    @Override
    public void health(FollowerHealth h) {
        health = h;
        boolean worthShowing = lastAnnounced == null || lastAnnounced.synced() != h.synced() || lastAnnounced.fatal() != h.fatal()
                || !Objects.equals(lastAnnounced.error(), h.error())
                || System.currentTimeMillis() - lastAnnouncedAt > 10_000;
        if (worthShowing) {
            lastAnnounced = h;
            lastAnnouncedAt = System.currentTimeMillis();
            networkChanged.run();
        }
    }

    @Override
    public void checkpoint(Checkpoint checkpoint) {
        checkpointSink.accept(checkpoint);
    }

    @Override
    public void reorg(long fromBlock, long toAncestor, int tokensReread) {
        metrics.reorg(key.namespace(), key.network());
    }

    @Override
    public void resynced(int tokens, int corrected) {
        metrics.resync(key.namespace(), key.network(), corrected);
    }

    @Override
    public void eventsApplied(int count) {
        metrics.events(key.namespace(), key.network(), count);
    }
}
