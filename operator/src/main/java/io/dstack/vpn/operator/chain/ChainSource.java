package io.dstack.vpn.operator.chain;

import java.math.BigInteger;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.JsonNode;

import io.dstack.vpn.chain.contract.AccessContract;
import io.dstack.vpn.chain.contract.AccessEvent;
import io.dstack.vpn.chain.follower.BlockRef;
import io.dstack.vpn.chain.follower.ChainFollower;
import io.dstack.vpn.chain.follower.Checkpoint;
import io.dstack.vpn.chain.follower.FollowerConfig;
import io.dstack.vpn.chain.follower.FollowerHealth;
import io.dstack.vpn.chain.follower.FollowerListener;
import io.dstack.vpn.chain.registry.AccessRegistry;
import io.dstack.vpn.chain.registry.TokenRecord;
import io.dstack.vpn.chain.rpc.RpcClient;
import io.dstack.vpn.chain.rpc.RpcLimits;
import io.dstack.vpn.chain.subscription.ChainSubscription;
import io.dstack.vpn.chain.subscription.Head;
import io.dstack.vpn.chain.subscription.SubscriptionListener;
import io.dstack.vpn.chain.subscription.SubscriptionSettings;
import io.dstack.vpn.chain.subscription.SubscriptionState;

/**
 * One network's view of the chain: a follower on its own thread into its own registry. It tells the reconcilers
 * only what changes a decision: the node ids whose token changed (or crossed the confirmation threshold), and the
 * network when its health or position should be shown.
 *
 * <p>With a ws(s):// URL among the network's RPC URLs, a {@link ChainSubscription} pushes each new head (the follower
 * then steps at once, without asking for the head) and each contract log (a revocation cuts at once, before its
 * block is processed: {@link EarlyRevocations}). While the subscription is live the poll is only a safety net every
 * {@link #SAFETY_POLL}; whenever it is not, the follower polls at the spec's interval (ADR 0012).
 */
final class ChainSource implements FollowerListener {
    private static final Logger LOG = Logger.getLogger(ChainSource.class);
    /** The poll interval while the subscription is live: heads come by themselves, this only bounds a silent stall. */
    static final Duration SAFETY_POLL = Duration.ofSeconds(30);
    static final String MODE_SUBSCRIPTION = "Subscription";
    static final String MODE_POLLING = "Polling";

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
    private final Duration pollInterval;
    /** Null when the network names no ws(s):// URL. */
    private final ChainSubscription subscription;
    /** The newest head a subscription pushed and the follower has not stepped to yet. */
    private final java.util.concurrent.atomic.AtomicReference<Head> pushedHead = new java.util.concurrent.atomic.AtomicReference<>();
    private volatile long newestHeadSeen = -1;
    /** Guarded by this. */
    private final EarlyRevocations early = new EarlyRevocations();
    /** Called with the node ids whose decision input changed, or null for "all of them". */
    private final Consumer<Set<String>> nodesChanged;
    private final Runnable networkChanged;
    private final Consumer<Checkpoint> checkpointSink;
    private volatile GrantConfirmations grantRule;
    /** {@link #grantRule} in blocks at the observed block time; decisions compare against it. */
    private volatile long grantBlocks;
    private volatile FollowerHealth health;
    private Map<String, DecisionInput> lastInputs = Map.of();
    private volatile View view;
    private boolean announcedSync;
    private FollowerHealth lastAnnounced;
    private long lastAnnouncedAt;

    ChainSource(ChainSourceKey key, GrantConfirmations grantRule, Checkpoint resumeFrom, RpcLimits limits, ChainMetrics metrics, Consumer<Set<String>> nodesChanged, Runnable networkChanged, Consumer<Checkpoint> checkpointSink) {
        this.key = key;
        this.metrics = metrics;
        this.grantRule = grantRule;
        this.grantBlocks = grantRule.blocksNeeded(null);
        this.nodesChanged = nodesChanged;
        this.networkChanged = networkChanged;
        this.checkpointSink = checkpointSink;
        Duration poll = Durations.parse(key.pollInterval(), Duration.ofSeconds(2));
        this.pollInterval = poll;
        List<String> httpUrls = key.rpcUrls().stream().filter(u -> !isWebSocket(u)).toList();
        List<String> wsUrls = key.rpcUrls().stream().filter(ChainSource::isWebSocket).toList();
        FollowerConfig config = FollowerConfig.of(key.contract(), key.chainId(), key.fromBlock(), poll,
                Durations.parse(key.resyncInterval(), Duration.ofMinutes(5)));
        // Two rounds over the endpoints per call, 3 s each (the whole request): the poll loop itself is the retry,
        // so an outage shows in the status within seconds instead of after a long in-call backoff.
        RpcClient rpc = new RpcClient(httpUrls, limits, 2 * httpUrls.size(), Duration.ofMillis(200),
                Duration.ofSeconds(2), metrics.rpcListener(key.namespace(), key.network()));
        this.follower = new ChainFollower(rpc, config, registry, this, Clock.systemUTC());
        if (resumeFrom != null) {
            follower.resumeFrom(resumeFrom);
        }
        this.health = follower.health();
        registry.addListener(this::registryChanged);
        this.polls = PollThread.start("chain-follower-" + key.namespace() + "/" + key.network(), this::pollOnce, this::nextPoll);
        // One socket: the first ws(s) URL. Failover is polling over the HTTP URLs, which a socket's outage never stops.
        this.subscription = wsUrls.isEmpty() ? null
                : new ChainSubscription(wsUrls.get(0), key.contract(), SubscriptionSettings.defaults(limits.destinations()), new Pushed());
        if (subscription != null) {
            subscription.start();
        }
    }

    static boolean isWebSocket(String url) {
        String u = url.strip().toLowerCase(java.util.Locale.ROOT);
        return u.startsWith("ws://") || u.startsWith("wss://");
    }

    private void pollOnce() {
        Head h = pushedHead.getAndSet(null);
        // The follower checks a pushed head exactly as one it asked for (BlockRef.wellFormed).
        follower.pollWithHead(h == null ? null : new BlockRef(h.number(), h.hash(), h.parentHash(), h.timestamp()));
    }

    private Duration nextPoll() {
        return subscriptionLive() && SAFETY_POLL.compareTo(pollInterval) > 0 ? SAFETY_POLL : pollInterval;
    }

    private boolean subscriptionLive() {
        return subscription != null && subscription.state() == SubscriptionState.LIVE;
    }

    /** How new blocks reach the follower now: {@link #MODE_SUBSCRIPTION} or {@link #MODE_POLLING}. */
    String mode() {
        return subscriptionLive() ? MODE_SUBSCRIPTION : MODE_POLLING;
    }

    /** The subscription's counters, or null without one. */
    io.dstack.vpn.chain.subscription.SubscriptionStats subscriptionStats() {
        return subscription == null ? null : subscription.stats();
    }

    /** What the subscription pushes; called on its one delivery thread, in order. */
    private final class Pushed implements SubscriptionListener {
        /** Whether the last event was a connect: failed retries while down are logged quietly. */
        private boolean live;

        @Override
        public void connected() {
            live = true;
            LOG.infof("chain subscription of %s/%s live on %s; backfilling from the last processed block", key.namespace(), key.network(),
                    subscription.displayName());
            metrics.subscription(key.namespace(), key.network(), true);
            polls.wake(); // the follower reads every log since its checkpoint: nothing sent while we were away is missed
            networkChanged.run(); // the status shows the mode
        }

        @Override
        public void head(Head head) {
            newestHeadSeen = Math.max(newestHeadSeen, head.number());
            pushedHead.set(head);
            polls.wake();
        }

        @Override
        public void log(JsonNode log) {
            AccessEvent event = AccessContract.decodeLog(log);
            if (!(event instanceof AccessEvent.Revoked r)) {
                return; // grants wait for their block and confirmations; only revocations act early
            }
            boolean changed;
            synchronized (ChainSource.this) {
                changed = log.path("removed").asBoolean(false) ? early.retract(r.tokenId(), r.at().blockHash())
                        : early.offer(r, Math.max(newestHeadSeen, registry.head()), java.time.Instant.now());
            }
            if (changed) {
                LOG.infof("revocation of token #%s (%s) seen in a subscription log for block %d%s", r.tokenId(), r.nodeId(), r.at().block(),
                        log.path("removed").asBoolean(false) ? ", now removed by a reorg" : "");
                registryChanged();
            }
        }

        @Override
        public void disconnected(String reason) {
            boolean wasLive = live;
            live = false;
            metrics.subscription(key.namespace(), key.network(), false);
            if (!wasLive) {
                LOG.debugf("chain subscription of %s/%s: attempt failed (%s)", key.namespace(), key.network(), reason);
                return;
            }
            LOG.warnf("chain subscription of %s/%s down (%s); polling every %d ms until it is back", key.namespace(), key.network(), reason,
                    pollInterval.toMillis());
            polls.wake(); // re-arm at the polling interval instead of the safety poll
            networkChanged.run(); // the status shows the mode
        }
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

    /** Blocks a grant needs now (the rule at the observed block time). */
    long grantConfirmationBlocks() {
        return grantBlocks;
    }

    /** How {@link #grantConfirmationBlocks()} was reached, for a waiting peer's message. */
    String grantConfirmationRule() {
        return grantRule.explain(health.blockTime());
    }

    void setGrantConfirmations(GrantConfirmations rule) {
        if (!rule.equals(grantRule)) {
            grantRule = rule;
            recomputeGrantBlocks();
        }
    }

    /** A new rule or a new block-time estimate may move the threshold: decisions that crossed it are woken. */
    private void recomputeGrantBlocks() {
        long blocks = grantRule.blocksNeeded(health.blockTime());
        if (blocks != grantBlocks) {
            grantBlocks = blocks;
            registryChanged();
        }
    }

    void stop() {
        if (subscription != null) {
            subscription.close();
        }
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

    /** The registry's newest token per node id, with the revocations seen early laid over it. */
    private synchronized View buildView() {
        long head = registry.head();
        Map<String, TokenRecord> latest = new HashMap<>();
        for (TokenRecord t : registry.all()) {
            latest.merge(t.nodeId(), early.overlay(t), (a, b) -> a.tokenId().compareTo(b.tokenId()) >= 0 ? a : b);
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
                confirmations(t, v.head()) >= grantBlocks, t.transferredAt(), t.keyBoundAt())));
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
        recomputeGrantBlocks();
        boolean settled;
        synchronized (this) {
            settled = !early.isEmpty() && early.settle(h.checkpoint(), java.time.Instant.now());
        }
        if (settled) {
            registryChanged(); // the follower has processed those blocks: the registry decides again
        }
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
