package io.dstack.vpn.chain.follower;

import java.math.BigInteger;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.JsonNode;

import io.dstack.vpn.api.text.SafeText;
import io.dstack.vpn.chain.contract.AccessContract;
import io.dstack.vpn.chain.contract.AccessEvent;
import io.dstack.vpn.chain.contract.Hex;
import io.dstack.vpn.chain.contract.LogCheck;
import io.dstack.vpn.chain.registry.AccessRegistry;
import io.dstack.vpn.chain.rpc.RpcClient;
import io.dstack.vpn.chain.rpc.RpcException;
import io.dstack.vpn.chain.rpc.WrongChainException;

/**
 * Follows the access contract block by block into an {@link AccessRegistry}.
 *
 * <p>Steady state costs two calls per new block: {@code eth_getBlockByNumber(latest)} (number, hash and
 * parent hash in one answer) and {@code eth_getLogs} by that block's hash. A parent hash that does not match
 * the checkpoint is a reorg (anvil sends no {@code removed:true} logs, so hashes are the only signal): the
 * follower walks back to the newest block whose hash it still agrees with, re-reads every token touched
 * since then at that block, and goes forward again. Larger gaps (initial sync, catching up after an outage)
 * read logs in ranges that adapt to what the RPC accepts. Every resync interval, all known tokens are
 * re-read at the checkpoint block to catch anything missed.
 *
 * <p>Not thread-safe: {@link #poll()} runs on one scheduler thread.
 */
public final class ChainFollower {
    private static final Logger LOG = LoggerFactory.getLogger(ChainFollower.class);
    /** How long one poll may keep reading ranges while behind the head. */
    private static final long CATCH_UP_BUDGET_NANOS = 2_000_000_000L;
    /** Checkpoints are written at most this often while advancing or rewinding (a token change writes at once). */
    static final java.time.Duration CHECKPOINT_EVERY = java.time.Duration.ofSeconds(10);

    private final RpcClient rpc;
    private final FollowerConfig config;
    private final AccessRegistry registry;
    private final FollowerListener listener;
    private final TokenReader reader;
    private final Clock clock;

    /** Recent block number → hash we processed (blocks with our logs, and every checkpoint). */
    private final NavigableMap<Long, String> knownHashes = new TreeMap<>();
    /** Recent block number → token ids touched in that block, to re-read after a reorg. */
    private final NavigableMap<Long, Set<BigInteger>> touchedAt = new TreeMap<>();
    private BlockRef checkpoint;
    private long head = -1;
    private long range;
    private Instant lastSuccess;
    private Instant lastResync;
    private String error;
    private boolean fatal;
    private boolean initialized;
    private Checkpoint savedCheckpoint;

    public ChainFollower(RpcClient rpc, FollowerConfig config, AccessRegistry registry, FollowerListener listener, Clock clock) {
        this.rpc = rpc;
        this.config = config;
        this.registry = registry;
        this.listener = listener;
        this.clock = clock;
        this.reader = new TokenReader(rpc, config.contractAddress(), config.batchSize());
        rpc.requireChainId(config.expectedChainId()); // every endpoint, before its first use and after its failures
        this.range = config.initialRange();
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
            // Catching up (first sync, after an outage) reads range after range within one poll, so a long
            // history is not paced by the poll interval; steady state is one step.
            long deadline = System.nanoTime() + CATCH_UP_BUDGET_NANOS;
            do {
                step();
            } while (checkpoint.number() < head && System.nanoTime() < deadline);
            resyncIfDue();
            if (unsaved && checkpointDue()) {
                saveCheckpoint();
            }
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
                checkpoint == null ? null : checkpoint.hash(), head, lastSuccess, error, fatal, registry.size());
    }

    /** The RPC must serve the network's chain, at the start and again at every resync and after every failed poll. */
    private void verifyChainId() {
        long chainId = Hex.quantity(rpc.call("eth_chainId").asText());
        if (chainId != config.expectedChainId()) {
            throw new FatalChainError("the RPC serves chain id " + chainId + ", but the network expects " + config.expectedChainId()
                    + ": refusing to admit anyone from another chain");
        }
    }

    private void initialize() {
        verifyChainId();
        if (savedCheckpoint != null) {
            TokenReader.Snapshot s = reader.readAt(savedCheckpoint.tokenIds(), savedCheckpoint.block());
            registry.load(s.states(), savedCheckpoint.block(), savedCheckpoint.history());
            registry.report(s.problems());
            checkpoint = new BlockRef(savedCheckpoint.block(), savedCheckpoint.hash(), null);
            knownHashes.put(checkpoint.number(), checkpoint.hash());
            LOG.info("resumed from checkpoint block {} with {} tokens", savedCheckpoint.block(), s.states().size());
        } else {
            checkpoint = new BlockRef(config.fromBlock() - 1, null, null);
        }
        lastResync = clock.instant();
        initialized = true;
    }

    private void step() {
        BlockRef latest = block("latest");
        head = latest.number();
        if (latest.number() <= checkpoint.number()) {
            if (latest.number() == checkpoint.number() && checkpoint.hash() != null && !latest.hash().equals(checkpoint.hash())) {
                rewind(latest.number());
            }
            registry.setHead(head);
            markSyncedIfCaughtUp();
            return;
        }
        if (latest.number() == checkpoint.number() + 1 && checkpoint.hash() != null) {
            if (!latest.parentHash().equals(checkpoint.hash())) {
                rewind(checkpoint.number());
                return;
            }
            List<AccessEvent> events = decode(rpc.call("eth_getLogs", Map.of("blockHash", latest.hash(),
                    "address", config.contractAddress(), "topics", List.of(AccessContract.FOLLOWED_TOPICS))),
                    LogCheck.block(config.contractAddress(), latest.number(), latest.hash()));
            advance(events, latest);
            return;
        }
        // A gap: initial sync or catching up. First make sure our checkpoint is still canonical.
        if (checkpoint.hash() != null) {
            BlockRef still = block("0x" + Long.toHexString(checkpoint.number()));
            if (!still.hash().equals(checkpoint.hash())) {
                rewind(checkpoint.number());
                return;
            }
        }
        long from = checkpoint.number() + 1;
        long to = Math.min(latest.number(), from + range - 1);
        List<AccessEvent> events;
        try {
            events = decode(rpc.call("eth_getLogs", Map.of("fromBlock", "0x" + Long.toHexString(from),
                    "toBlock", "0x" + Long.toHexString(to), "address", config.contractAddress(),
                    "topics", List.of(AccessContract.FOLLOWED_TOPICS))), LogCheck.range(config.contractAddress(), from, to));
        } catch (RpcException e) {
            // A range limit, or a read too large to answer in time: halve (it doubles again on success).
            if (range > 1 && (e.retryable() || looksLikeRangeLimit(e))) {
                range = Math.max(1, range / 2);
                LOG.info("eth_getLogs over {} blocks failed ({}); trying {} blocks", range * 2, e.getMessage(), range);
                if (looksLikeRangeLimit(e)) {
                    return; // the RPC answered: not an outage
                }
            }
            throw e;
        }
        range = Math.min(config.maxRange(), range * 2);
        BlockRef end = to == latest.number() ? latest : block("0x" + Long.toHexString(to));
        // Logs of the last block must come from the block we are about to checkpoint, or a reorg raced us.
        boolean consistent = events.stream().filter(e -> e.at().block() == end.number() && !(e instanceof AccessEvent.Malformed))
                .allMatch(e -> end.hash().equalsIgnoreCase(e.at().blockHash()));
        if (!consistent) {
            LOG.info("block {} changed while reading logs; reading again", end.number());
            return;
        }
        advance(events, end);
    }

    private static boolean looksLikeRangeLimit(RpcException e) {
        String m = e.getMessage().toLowerCase();
        return m.contains("range") || m.contains("limit") || m.contains("too many") || m.contains("10000") || m.contains("exceed");
    }

    private void advance(List<AccessEvent> events, BlockRef to) {
        int before = registry.size();
        if (events.stream().anyMatch(e -> e instanceof AccessEvent.Malformed)) {
            // A log we could not use may have been a revocation: fail closed by re-reading every known token at
            // the end of this range (in this poll), instead of stalling on the range or trusting what we have.
            lastResync = Instant.EPOCH;
            resyncAt = to.number();
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
                rereadAt(registry.ownedBy(o.owner()), e.at().block());
            }
            if (e.at().blockHash() != null) {
                knownHashes.put(e.at().block(), e.at().blockHash());
            }
            if (e.tokenId() != null) {
                touchedAt.computeIfAbsent(e.at().block(), k -> new HashSet<>()).add(e.tokenId());
            }
        }
        checkpoint = to;
        knownHashes.put(to.number(), to.hash());
        trimWindow();
        registry.setHead(head);
        markSyncedIfCaughtUp();
        boolean changed = registry.size() != before || savedCheckpoint == null || !touched.isEmpty();
        // Token changes are saved at once, except right after a reorg: an endpoint that reorgs on every poll makes
        // tokens flap (re-read, re-applied) and would turn every poll into an API write.
        boolean storming = lastReorg != null && clock.instant().isBefore(lastReorg.plus(CHECKPOINT_EVERY));
        if ((changed && !storming) || checkpointDue()) {
            saveCheckpoint();
        } else if (changed) {
            unsaved = true;
        }
    }

    /** A change that is not in the saved checkpoint yet; saved once {@link #CHECKPOINT_EVERY} has passed. */
    private boolean unsaved;
    private Instant lastReorg;

    private boolean checkpointDue() {
        return !clock.instant().isBefore(lastCheckpointSave.plus(CHECKPOINT_EVERY));
    }

    /** The block a forced resync reads at (malformed logs were skipped up to it), or -1 for the checkpoint. */
    private long resyncAt = -1;

    private Instant lastCheckpointSave = Instant.EPOCH;

    private void saveCheckpoint() {
        TreeSet<BigInteger> ids = new TreeSet<>();
        registry.all().forEach(t -> ids.add(t.tokenId()));
        savedCheckpoint = new Checkpoint(checkpoint.number(), checkpoint.hash(), ids, registry.historyToKeep(checkpoint.number()));
        lastCheckpointSave = clock.instant();
        unsaved = false;
        listener.checkpoint(savedCheckpoint);
    }

    private void markSyncedIfCaughtUp() {
        if (!registry.synced() && checkpoint.number() >= head) {
            registry.markSynced();
            LOG.info("chain follower in sync at block {} with {} tokens", checkpoint.number(), registry.size());
        }
    }

    /**
     * Our block {@code suspect} (or an earlier one) is no longer canonical. Find the newest known block whose
     * hash still matches, re-read at that block every token touched after it, and continue from there.
     */
    private void rewind(long suspect) {
        long ancestor = -1;
        for (Map.Entry<Long, String> known : knownHashes.headMap(suspect, true).descendingMap().entrySet()) {
            BlockRef canonical = block("0x" + Long.toHexString(known.getKey()));
            if (canonical.hash().equals(known.getValue())) {
                ancestor = known.getKey();
                break;
            }
        }
        if (ancestor < 0) {
            // Deeper than our window: reload everything we know at the oldest block we still can trust.
            ancestor = Math.max(config.fromBlock() - 1, suspect - config.reorgWindow());
        }
        Set<BigInteger> affected = new LinkedHashSet<>();
        touchedAt.tailMap(ancestor, false).values().forEach(affected::addAll);
        if (ancestor < suspect - config.reorgWindow() + 1) {
            registry.all().forEach(t -> affected.add(t.tokenId()));
        }
        int reread = rereadAt(affected, Math.max(0, ancestor));
        long from = checkpoint.number();
        touchedAt.tailMap(ancestor, false).clear();
        knownHashes.tailMap(ancestor, false).clear();
        BlockRef base = ancestor >= 0 ? block("0x" + Long.toHexString(ancestor)) : new BlockRef(ancestor, null, null);
        checkpoint = base;
        if (base.hash() != null) {
            knownHashes.put(base.number(), base.hash()); // not "before block 0": there is no such block to ask for
        }
        LOG.warn("reorg: block {} is no longer canonical; rewound to {} and re-read {} tokens", from, ancestor, reread);
        listener.reorg(from, ancestor, reread);
        lastReorg = clock.instant();
        // Not on every reorg: an endpoint that reorgs on every poll would turn each poll into an API write. A
        // stale checkpoint is safe: on resume its hash no longer matches and the follower rewinds again.
        if (checkpointDue()) {
            saveCheckpoint();
        } else {
            unsaved = true;
        }
    }

    private int rereadAt(java.util.Collection<BigInteger> ids, long block) {
        if (ids.isEmpty()) {
            return 0;
        }
        TokenReader.Snapshot s = reader.readAt(ids, block);
        registry.reconcile(s.states(), s.missing(), block);
        registry.report(s.problems());
        return ids.size();
    }

    private void resyncIfDue() {
        if (!registry.synced() || clock.instant().isBefore(lastResync.plus(config.resyncInterval()))) {
            return;
        }
        lastResync = clock.instant();
        verifyChainId();
        List<BigInteger> ids = new ArrayList<>();
        registry.all().forEach(t -> ids.add(t.tokenId()));
        long at = resyncAt >= 0 ? Math.min(resyncAt, checkpoint.number()) : checkpoint.number();
        resyncAt = -1;
        TokenReader.Snapshot s = reader.readAt(ids, at);
        int corrected = registry.reconcile(s.states(), s.missing(), at);
        registry.report(s.problems());
        if (corrected > 0) {
            LOG.warn("resync at block {} corrected {} of {} tokens: events were missed", at, corrected, ids.size());
        }
        listener.resynced(ids.size(), corrected);
    }

    private void trimWindow() {
        long floor = checkpoint.number() - config.reorgWindow();
        knownHashes.headMap(floor, false).clear();
        touchedAt.headMap(floor, false).clear();
    }

    private BlockRef block(String tag) {
        JsonNode b = rpc.call("eth_getBlockByNumber", tag, false);
        if (b == null || b.isNull()) {
            throw new RpcException("block " + tag + " not found", true, null, null);
        }
        String number = b.path("number").asText(null);
        String hash = b.path("hash").asText(null);
        String parent = b.path("parentHash").asText(null);
        if (!Hex.isQuantity(number) || !Hex.isHash(hash) || !Hex.isHash(parent)) {
            throw new RpcException("malformed block " + tag + ": number " + Hex.shown(number) + ", hash " + Hex.shown(hash)
                    + ", parentHash " + Hex.shown(parent), true, null, null);
        }
        long n = Hex.quantity(number);
        if (tag.startsWith("0x") && n != Hex.quantity(tag)) {
            throw new RpcException("asked for block " + tag + ", got block " + n, true, null, null);
        }
        return new BlockRef(n, hash.toLowerCase(java.util.Locale.ROOT), parent.toLowerCase(java.util.Locale.ROOT));
    }

    /** Checked, decoded logs in chain order; a log that fails {@link LogCheck} becomes Malformed at the range's end. */
    private static List<AccessEvent> decode(JsonNode logs, LogCheck check) {
        if (logs == null || !logs.isArray()) {
            throw new RpcException("eth_getLogs answered with " + (logs == null ? "nothing" : "a " + logs.getNodeType()), true, null, null);
        }
        List<AccessEvent> events = new ArrayList<>();
        for (JsonNode log : logs) {
            if (log.path("removed").asBoolean(false)) {
                continue; // handled by the hash check, which also covers RPCs that never send removed logs
            }
            String problem = check.problem(log);
            events.add(problem == null ? AccessContract.decodeLog(log)
                    : new AccessEvent.Malformed(new AccessEvent.LogPosition(check.toBlock(), null, -1, null), null, problem));
        }
        events.sort((a, b) -> a.at().block() != b.at().block() ? Long.compare(a.at().block(), b.at().block())
                : Long.compare(a.at().logIndex(), b.at().logIndex()));
        return events;
    }

    /** An error that no retry fixes. */
    static final class FatalChainError extends RuntimeException {
        FatalChainError(String message) {
            super(message);
        }
    }
}
