package io.dstack.vpn.chain.follower;

import java.math.BigInteger;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.dstack.vpn.api.text.SafeText;
import io.dstack.vpn.chain.contract.AccessEvent;
import io.dstack.vpn.chain.follower.CatchUpBudget.Step;
import io.dstack.vpn.chain.registry.AccessRegistry;
import io.dstack.vpn.chain.rpc.RpcClient;
import io.dstack.vpn.chain.rpc.RpcException;
import io.dstack.vpn.chain.rpc.WrongChainException;

/**
 * Follows the access contract block by block into an {@link AccessRegistry}.
 *
 * <p>Steady state costs two calls per new block: the latest block (number, hash and parent hash in one answer) and
 * the logs of that block by hash. A parent hash that does not match the checkpoint is a reorg: the follower walks
 * back to the newest block whose hash it still agrees with ({@link ReorgWindow}), re-reads every token touched
 * since then at that block, and goes forward again. Larger gaps (initial sync, catching up after an outage) read
 * logs in ranges that adapt to what the RPC accepts ({@link AdaptiveLogRange}), within a {@link CatchUpBudget} per
 * poll. Every resync interval ({@link ResyncSchedule}), the logs since the previous resync are read again and the
 * tokens they name re-read at the checkpoint block to catch anything missed; every known token instead when the logs
 * cannot be trusted, and every {@link ResyncRange#FULL_EVERY}-th time ({@link ResyncRange}). Checkpoints are written
 * as {@link CheckpointThrottle} allows.
 *
 * <p>Not thread-safe: {@link #poll()} runs on one scheduler thread.
 */
public final class ChainFollower {
    private static final Logger LOG = LoggerFactory.getLogger(ChainFollower.class);
    /** How long one poll may keep reading ranges while behind the head, and again for a resync's ranges. */
    private static final Duration CATCH_UP_BUDGET = Duration.ofSeconds(2);

    private final ChainReads reads;
    private final FollowerConfig config;
    private final AccessRegistry registry;
    private final FollowerListener listener;
    private final Clock clock;
    private final ReorgWindow window;
    private final AdaptiveLogRange ranges;
    private final CheckpointThrottle checkpoints;
    private final ResyncSchedule resyncs;
    private final ResyncRange resyncRange = new ResyncRange();
    private final BlockTimeEstimate blockTime = new BlockTimeEstimate();

    private BlockRef checkpoint;
    private BlockRef head;
    private Instant lastSuccess;
    private String error;
    private boolean fatal;
    private boolean initialized;
    private Checkpoint savedCheckpoint;

    /** Follows over JSON-RPC; every endpoint must serve the configured chain id before its first use and after its failures. */
    public ChainFollower(RpcClient rpc, FollowerConfig config, AccessRegistry registry, FollowerListener listener, Clock clock) {
        this(new RpcChainReads(rpc.requireChainId(config.expectedChainId()), config.contractAddress(), config.batchSize()),
                config, registry, listener, clock);
    }

    public ChainFollower(ChainReads reads, FollowerConfig config, AccessRegistry registry, FollowerListener listener, Clock clock) {
        this.reads = reads;
        this.config = config;
        this.registry = registry;
        this.listener = listener;
        this.clock = clock;
        this.window = new ReorgWindow(config.reorgWindow(), config.fromBlock());
        this.ranges = new AdaptiveLogRange(config.initialRange(), config.maxRange());
        this.checkpoints = new CheckpointThrottle(clock);
        this.resyncs = new ResyncSchedule(clock, config.resyncInterval());
    }

    /**
     * Starts from a stored checkpoint (tokens reloaded at its block), or from the configured first block.
     * Called by the first {@link #poll()}; retried there until it succeeds.
     */
    public void resumeFrom(Checkpoint stored) {
        this.savedCheckpoint = stored;
    }

    /** One step: initialize if needed, then catch up with the head. Never throws; trouble goes to health. */
    public void poll() {
        pollWithHead(null);
    }

    /**
     * {@link #poll()} with a head the caller already has (from a {@code newHeads} subscription), which saves the
     * first step's read of the latest block. The head is checked and used exactly as one read from the RPC.
     *
     * (Not an overload of {@code poll}: {@code follower::poll} stays an unambiguous method reference.)
     *
     * @param knownHead the newest block, or null to read it from the RPC
     */
    public void pollWithHead(BlockRef knownHead) {
        try {
            if (fatal) {
                return;
            }
            if (!initialized) {
                initialize();
            } else if (error != null) {
                // Back from a failed poll: the endpoint that answers now may be another one (failover, DNS).
                verifyChainId();
            }
            catchUp(knownHead);
            resyncIfDue();
            if (checkpoints.savePending()) {
                saveCheckpoint();
            }
            blockTime.measureIfDue(head, reads);
            error = null;
            lastSuccess = clock.instant();
        } catch (FatalChainError | WrongChainException e) {
            fatal = true;
            error = SafeText.message(e.getMessage());
            LOG.error("chain follower stopped: {}", error);
        } catch (RpcException e) {
            error = SafeText.message(e.getMessage());
            LOG.warn("chain poll failed: {}", error);
        } catch (RuntimeException e) {
            // Only the cleaned, bounded message: an exception about untrusted data may quote all of it.
            error = SafeText.message(e.getClass().getSimpleName() + ": " + e.getMessage());
            LOG.warn("chain poll failed: {}", error);
        }
        listener.health(health());
    }

    public FollowerHealth health() {
        return new FollowerHealth(registry.synced(), checkpoint == null ? -1 : checkpoint.number(),
                checkpoint == null ? null : checkpoint.hash(), headNumber(), lastSuccess, error, fatal, registry.size(), blockTime.value());
    }

    private long headNumber() {
        return head == null ? -1 : head.number();
    }

    /** The RPC must serve the network's chain, at the start and again at every resync and after every failed poll. */
    private void verifyChainId() {
        long chainId = reads.chainId();
        if (chainId != config.expectedChainId()) {
            throw new FatalChainError("the RPC serves chain id " + chainId + ", but the network expects " + config.expectedChainId()
                    + ": refusing to admit anyone from another chain");
        }
    }

    private void initialize() {
        verifyChainId();
        if (savedCheckpoint != null) {
            TokenSnapshot s = reads.tokensAt(savedCheckpoint.tokenIds(), savedCheckpoint.block());
            registry.load(s.states(), savedCheckpoint.block(), savedCheckpoint.history());
            registry.report(s.problems());
            checkpoint = new BlockRef(savedCheckpoint.block(), savedCheckpoint.hash(), null, BlockRef.UNKNOWN_TIME);
            window.remember(checkpoint.number(), checkpoint.hash());
            resyncRange.everyTokenReadAt(checkpoint.number());
            LOG.info("resumed from checkpoint block {} with {} tokens", savedCheckpoint.block(), s.states().size());
        } else {
            checkpoint = new BlockRef(config.fromBlock() - 1, null, null, BlockRef.UNKNOWN_TIME);
        }
        resyncs.start();
        blockTime.remeasure();
        initialized = true;
    }

    private void catchUp(BlockRef knownHead) {
        CatchUpBudget budget = new CatchUpBudget(clock, CATCH_UP_BUDGET);
        BlockRef given = knownHead;
        Step last;
        do {
            BlockRef latest = given != null ? given.wellFormed("given as the head") : reads.latestBlock();
            given = null; // later steps of this poll ask the RPC
            last = step(latest);
        } while (checkpoint.number() < headNumber() && budget.allowsAnotherAfter(last));
    }

    private Step step(BlockRef latest) {
        head = latest;
        if (latest.number() <= checkpoint.number()) {
            Step done = Step.ADVANCED;
            if (latest.number() == checkpoint.number() && checkpoint.hash() != null && !latest.hash().equals(checkpoint.hash())) {
                rewind(latest.number());
                done = Step.SETBACK;
            }
            registry.setHead(latest.number());
            markSyncedIfCaughtUp();
            return done;
        }
        if (latest.number() == checkpoint.number() + 1 && checkpoint.hash() != null) {
            if (!latest.parentHash().equals(checkpoint.hash())) {
                rewind(checkpoint.number());
                return Step.SETBACK;
            }
            advance(reads.logsOf(latest), latest);
            return Step.ADVANCED;
        }
        // A gap: initial sync or catching up. First make sure our checkpoint is still canonical.
        if (checkpoint.hash() != null && !reads.block(checkpoint.number()).hash().equals(checkpoint.hash())) {
            rewind(checkpoint.number());
            return Step.SETBACK;
        }
        return readRange(latest);
    }

    private Step readRange(BlockRef latest) {
        long from = checkpoint.number() + 1;
        long to = ranges.end(from, latest.number());
        List<AccessEvent> events;
        try {
            events = reads.logsBetween(from, to);
        } catch (RpcException e) {
            if (ranges.narrowedAfter(e, from, to)) {
                return Step.NARROWED; // the RPC answered: not an outage
            }
            throw e;
        }
        ranges.succeeded();
        BlockRef end = to == latest.number() ? latest : reads.block(to);
        // Logs of the last block must come from the block we are about to checkpoint, or a reorg raced us.
        boolean consistent = events.stream().filter(e -> e.at().block() == end.number() && !(e instanceof AccessEvent.Malformed))
                .allMatch(e -> end.hash().equalsIgnoreCase(e.at().blockHash()));
        if (!consistent) {
            LOG.info("block {} changed while reading logs; reading again", end.number());
            return Step.SETBACK;
        }
        advance(events, end);
        return Step.ADVANCED;
    }

    private void advance(List<AccessEvent> events, BlockRef to) {
        int before = registry.size();
        if (events.stream().anyMatch(e -> e instanceof AccessEvent.Malformed)) {
            // A log we could not use may have been a revocation: fail closed by re-reading every known token at
            // the checkpoint (in this poll), instead of stalling on the range or trusting what we have.
            resyncs.forceNow();
            resyncRange.distrust();
        }
        List<BigInteger> touched = registry.apply(events);
        if (!events.isEmpty()) {
            listener.eventsApplied(events.size());
        }
        Set<String> rotatedInTx = new HashSet<>();
        events.stream().filter(e -> e instanceof AccessEvent.KeyRotated).forEach(e -> rotatedInTx.add(e.at().txHash()));
        for (AccessEvent e : events) {
            if (e instanceof AccessEvent.Revoked r) {
                // The moment a revocation is first seen: operators (and the revocation benchmark) time from here.
                LOG.info("revocation of token #{} ({}) seen in block {}", r.tokenId(), r.nodeId(), r.at().block());
            }
            // The prototype's PublicKeyUpdated names no token: re-read the owner's tokens, unless the same
            // transaction also said which token (our contract's NodeKeyRotated).
            if (e instanceof AccessEvent.OwnerKeyUpdated o && !rotatedInTx.contains(e.at().txHash())) {
                touched.addAll(registry.ownedBy(o.owner()));
                reconcileAt(registry.ownedBy(o.owner()), e.at().block());
            }
            if (e.at().blockHash() != null) {
                window.remember(e.at().block(), e.at().blockHash());
            }
            if (e.tokenId() != null) {
                window.touched(e.at().block(), e.tokenId());
            }
        }
        checkpoint = to;
        window.remember(to.number(), to.hash());
        window.slide(to.number());
        registry.setHead(headNumber());
        markSyncedIfCaughtUp();
        boolean changed = registry.size() != before || savedCheckpoint == null || !touched.isEmpty();
        if (checkpoints.saveAfterAdvance(changed)) {
            saveCheckpoint();
        }
    }

    private void saveCheckpoint() {
        TreeSet<BigInteger> ids = new TreeSet<>();
        registry.all().forEach(t -> ids.add(t.tokenId()));
        savedCheckpoint = new Checkpoint(checkpoint.number(), checkpoint.hash(), ids, registry.historyToKeep(checkpoint.number()));
        checkpoints.saved();
        listener.checkpoint(savedCheckpoint);
    }

    private void markSyncedIfCaughtUp() {
        if (!registry.synced() && checkpoint.number() >= headNumber()) {
            registry.markSynced();
            LOG.info("chain follower in sync at block {} with {} tokens", checkpoint.number(), registry.size());
        }
    }

    /**
     * Our block {@code suspect} (or an earlier one) is no longer canonical. Find the newest known block whose
     * hash still matches, re-read at that block every token touched after it, and continue from there.
     */
    private void rewind(long suspect) {
        ReorgWindow.Rewind rewind = window.rewindFrom(suspect, n -> reads.block(n).hash());
        long ancestor = rewind.ancestor();
        Set<BigInteger> affected = new LinkedHashSet<>(rewind.touchedSince());
        if (rewind.beyondWindow()) {
            registry.all().forEach(t -> affected.add(t.tokenId()));
        }
        reconcileAt(affected, Math.max(0, ancestor));
        int reread = affected.size();
        long from = checkpoint.number();
        window.forgetAfter(ancestor);
        resyncRange.rewoundTo(ancestor);
        checkpoint = ancestor >= 0 ? reads.block(ancestor) : new BlockRef(ancestor, null, null, BlockRef.UNKNOWN_TIME);
        if (checkpoint.hash() != null) {
            window.remember(checkpoint.number(), checkpoint.hash()); // not "before block 0": there is no such block to ask for
        }
        LOG.warn("reorg: block {} is no longer canonical; rewound to {} and re-read {} tokens", from, ancestor, reread);
        listener.reorg(from, ancestor, reread);
        if (checkpoints.saveAfterReorg()) {
            saveCheckpoint();
        }
    }

    /** Reads the tokens at {@code block} and puts the registry right; returns how many records changed. */
    private int reconcileAt(Collection<BigInteger> ids, long block) {
        if (ids.isEmpty()) {
            return 0;
        }
        TokenSnapshot s = reads.tokensAt(ids, block);
        int changed = registry.reconcile(s.states(), s.missing(), block);
        registry.report(s.problems());
        return changed;
    }

    /**
     * Every resync interval, and at once after unusable logs: reads the logs since the previous resync again and
     * compares the tokens they name with the contract, or every known token when {@link ResyncRange} says so. A
     * resync of logs that does not reach the checkpoint in this poll goes on at the next one.
     */
    private void resyncIfDue() {
        if (!registry.synced()) {
            return;
        }
        if (resyncs.due()) {
            resyncs.started();
            verifyChainId();
            resyncRange.begin();
        } else if (!resyncRange.goesOn()) {
            return;
        }
        if (!resyncRange.full()) {
            readLogsAgain();
        }
        if (resyncRange.full()) {
            readEveryToken();
        }
        ResyncRange.Totals done = resyncRange.finishedAt(checkpoint.number());
        if (done != null) {
            listener.resynced(done.tokens(), done.corrected());
            blockTime.remeasure();
        }
    }

    /** The logs since the previous resync, range by range within a budget; tokens they name are read at the checkpoint. */
    private void readLogsAgain() {
        CatchUpBudget budget = new CatchUpBudget(clock, CATCH_UP_BUDGET);
        while (resyncRange.from() <= checkpoint.number() && !resyncRange.full()) {
            if (!budget.allowsAnotherAfter(readLogsAgainStep())) {
                return; // the rest at the next poll
            }
        }
    }

    private Step readLogsAgainStep() {
        long from = resyncRange.from();
        long at = checkpoint.number();
        long to = ranges.end(from, at);
        List<AccessEvent> events;
        try {
            events = reads.logsBetween(from, to);
        } catch (RpcException e) {
            if (ranges.narrowedAfter(e, from, to)) {
                return Step.NARROWED;
            }
            throw e;
        }
        ranges.succeeded();
        List<AccessEvent> unusable = events.stream().filter(e -> e instanceof AccessEvent.Malformed).toList();
        if (!unusable.isEmpty()) {
            registry.apply(unusable); // records them as problems, as while following
            LOG.warn("resync: unusable logs in blocks {}..{}; reading every known token", from, to);
            resyncRange.distrust(); // fail closed: the full read follows in this poll
            return Step.SETBACK;
        }
        if (events.stream().anyMatch(e -> window.contradicts(e.at().block(), e.at().blockHash()))) {
            LOG.info("resync: blocks {}..{} changed while reading their logs again; reading again", from, to);
            return Step.SETBACK;
        }
        Set<BigInteger> ids = tokensNamedBy(events);
        int corrected = reconcileAt(ids, at);
        if (corrected > 0) {
            LOG.warn("resync of blocks {}..{} at block {} corrected {} of the {} tokens their logs name: events were missed", from, to,
                    at, corrected, ids.size());
        }
        resyncRange.count(ids.size(), corrected);
        resyncRange.logsReadThrough(to);
        return Step.ADVANCED;
    }

    /** The tokens logs name; for the prototype's PublicKeyUpdated, which names none, the owner's tokens. */
    private Set<BigInteger> tokensNamedBy(List<AccessEvent> events) {
        Set<BigInteger> ids = new TreeSet<>();
        for (AccessEvent e : events) {
            if (e.tokenId() != null) {
                ids.add(e.tokenId());
            }
            if (e instanceof AccessEvent.OwnerKeyUpdated o) {
                ids.addAll(registry.ownedBy(o.owner()));
            }
        }
        return ids;
    }

    private void readEveryToken() {
        List<BigInteger> ids = new ArrayList<>();
        registry.all().forEach(t -> ids.add(t.tokenId()));
        long at = checkpoint.number();
        int corrected = reconcileAt(ids, at);
        if (corrected > 0) {
            LOG.warn("full resync at block {} corrected {} of {} tokens: events were missed", at, corrected, ids.size());
        }
        resyncRange.count(ids.size(), corrected);
        resyncRange.everyTokenReadAt(at);
    }

    /** An error that no retry fixes. */
    static final class FatalChainError extends RuntimeException {
        FatalChainError(String message) {
            super(message);
        }
    }
}
