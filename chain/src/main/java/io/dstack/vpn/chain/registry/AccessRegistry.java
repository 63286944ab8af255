package io.dstack.vpn.chain.registry;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;

import io.dstack.vpn.chain.contract.AccessContract.TokenState;
import io.dstack.vpn.chain.contract.AccessEvent;

/**
 * tokenId → what the chain says, plus the chain head, kept by the follower and read by the access policy.
 * All reads see a consistent state (methods are synchronized; listeners run after the change, outside
 * the lock). Decisions themselves live in the operator's policy: this class only records.
 */
public final class AccessRegistry {
    private final Map<BigInteger, TokenRecord> tokens = new TreeMap<>();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private final List<String> problems = new CopyOnWriteArrayList<>();
    private volatile long head = -1;
    private volatile boolean synced;

    public void addListener(Runnable listener) {
        listeners.add(listener);
    }

    /** The newest token whose record names this node id (valid or not, active or not). */
    public synchronized Optional<TokenRecord> latestFor(String nodeId) {
        return tokens.values().stream().filter(t -> nodeId.equals(t.nodeId()))
                .max(Comparator.comparing(TokenRecord::tokenId));
    }

    public synchronized List<TokenRecord> all() {
        return List.copyOf(tokens.values());
    }

    public synchronized Optional<TokenRecord> get(BigInteger tokenId) {
        return Optional.ofNullable(tokens.get(tokenId));
    }

    public synchronized int size() {
        return tokens.size();
    }

    public long head() {
        return head;
    }

    /** True once the initial sync (or the load from a checkpoint) is complete: before that, nothing is decided. */
    public boolean synced() {
        return synced;
    }

    /** Applies decoded events of one block range in order; returns the token ids touched. */
    public List<BigInteger> apply(List<AccessEvent> events) {
        List<BigInteger> touched = new ArrayList<>();
        synchronized (this) {
            for (AccessEvent e : events) {
                BigInteger id = applyOne(e);
                if (id != null) {
                    touched.add(id);
                }
            }
        }
        if (!touched.isEmpty()) {
            fire();
        }
        return touched;
    }

    private BigInteger applyOne(AccessEvent e) {
        long block = e.at().block();
        switch (e) {
            case AccessEvent.Granted g -> {
                tokens.put(g.tokenId(), new TokenRecord(g.tokenId(), g.nodeId(), g.publicKey(), g.owner(), true, block,
                        g.owner(), block, -1, block, TokenValidation.problem(g.nodeId(), g.publicKey())));
                return g.tokenId();
            }
            case AccessEvent.Revoked r -> {
                TokenRecord t = tokens.get(r.tokenId());
                if (t == null) {
                    return null;
                }
                tokens.put(r.tokenId(), t.with(t.publicKey(), t.owner(), false, t.keyBoundAt(), t.transferredAt(), block, t.problem()));
                return r.tokenId();
            }
            case AccessEvent.Transferred x -> {
                TokenRecord t = tokens.get(x.tokenId());
                if (t == null || x.from().equals("0x0000000000000000000000000000000000000000")) {
                    return null; // mint: the Granted event carries everything
                }
                tokens.put(x.tokenId(), t.with(t.publicKey(), x.to(), t.active(), t.keyBoundAt(), block, block, t.problem()));
                return x.tokenId();
            }
            case AccessEvent.KeyRotated k -> {
                TokenRecord t = tokens.get(k.tokenId());
                if (t == null) {
                    return null;
                }
                tokens.put(k.tokenId(), t.with(k.publicKey(), t.owner(), t.active(), block, t.transferredAt(), block,
                        TokenValidation.problem(t.nodeId(), k.publicKey())));
                return k.tokenId();
            }
            case AccessEvent.OwnerKeyUpdated o -> {
                return null; // no token id: the follower re-reads the owner's tokens
            }
            case AccessEvent.Malformed m -> {
                problems.add("block " + block + ": " + m.reason());
                return null;
            }
        }
    }

    /**
     * Replaces tokens with their state read at a pinned block (resync, rewind after a reorg, load from a
     * checkpoint). {@code missing} are tokens that do not exist at that block (a rewound mint): removed.
     * Returns how many records changed.
     */
    public int reconcile(Collection<TokenState> states, Collection<BigInteger> missing, long block) {
        int changed = 0;
        synchronized (this) {
            for (TokenState s : states) {
                TokenRecord old = tokens.get(s.tokenId());
                String problem = TokenValidation.problem(s.nodeId(), s.publicKey());
                // Loaded at a pinned block without history: the mint block is unknown, so a token first seen
                // this way counts as granted at that block (confirmations then count from there).
                TokenRecord fresh = old == null
                        ? new TokenRecord(s.tokenId(), s.nodeId(), s.publicKey(), s.owner(), s.active(), block, s.owner(), block, -1, block, problem)
                        : new TokenRecord(s.tokenId(), s.nodeId(), s.publicKey(), s.owner(), s.active(), old.grantedAt(), old.ownerAtGrant(),
                                s.publicKey().equals(old.publicKey()) ? old.keyBoundAt() : block,
                                s.owner().equalsIgnoreCase(old.owner()) ? old.transferredAt() : block, block, problem);
                if (old == null || !sameState(old, fresh)) {
                    tokens.put(s.tokenId(), fresh);
                    changed++;
                }
            }
            for (BigInteger id : missing) {
                if (tokens.remove(id) != null) {
                    changed++;
                }
            }
        }
        if (changed > 0) {
            fire();
        }
        return changed;
    }

    private static boolean sameState(TokenRecord a, TokenRecord b) {
        return a.nodeId().equals(b.nodeId()) && a.publicKey().equals(b.publicKey()) && a.owner().equalsIgnoreCase(b.owner())
                && a.active() == b.active();
    }

    /** Blocks after which no confirmation count matters any more (the CRD caps confirmations at 1000). */
    public static final long SETTLED_AFTER = 1000;

    /**
     * Loads tokens read at a checkpoint block. Their history comes from the checkpoint where it was kept;
     * the others were settled long before the checkpoint and count as granted {@link #SETTLED_AFTER} blocks
     * earlier, never transferred.
     */
    public void load(Collection<TokenState> states, long block, Map<BigInteger, TokenHistory> history) {
        synchronized (this) {
            tokens.clear();
            for (TokenState s : states) {
                TokenHistory h = history.getOrDefault(s.tokenId(),
                        new TokenHistory(block - SETTLED_AFTER, s.owner(), block - SETTLED_AFTER, -1));
                tokens.put(s.tokenId(), new TokenRecord(s.tokenId(), s.nodeId(), s.publicKey(), s.owner(), s.active(), h.grantedAt(),
                        h.ownerAtGrant(), h.keyBoundAt(), h.transferredAt(), block, TokenValidation.problem(s.nodeId(), s.publicKey())));
            }
        }
        fire();
    }

    /** What a checkpoint at {@code block} must keep: history of transferred tokens and of young ones. */
    public synchronized Map<BigInteger, TokenHistory> historyToKeep(long block) {
        Map<BigInteger, TokenHistory> keep = new TreeMap<>();
        for (TokenRecord t : tokens.values()) {
            if (t.transferredAt() >= 0 || t.grantedAt() > block - SETTLED_AFTER || t.keyBoundAt() > block - SETTLED_AFTER) {
                keep.put(t.tokenId(), new TokenHistory(t.grantedAt(), t.ownerAtGrant(), t.keyBoundAt(), t.transferredAt()));
            }
        }
        return keep;
    }

    /** Token ids owned by an address (for the prototype's PublicKeyUpdated, which names no token). */
    public synchronized List<BigInteger> ownedBy(String owner) {
        return tokens.values().stream().filter(t -> owner.equalsIgnoreCase(t.owner())).map(TokenRecord::tokenId).toList();
    }

    /** Moves the head; listeners fire so that grants waiting for confirmations are re-decided. */
    public void setHead(long newHead) {
        if (newHead != head) {
            head = newHead;
            fire();
        }
    }

    public void markSynced() {
        if (!synced) {
            synced = true;
            fire();
        }
    }

    /** Records problems found while reading token state (undecodable return data). */
    public void report(List<String> found) {
        problems.addAll(found);
    }

    /** Data problems seen in logs (malformed events), most recent last, at most 50 kept. */
    public List<String> problems() {
        while (problems.size() > 50) {
            problems.remove(0);
        }
        return List.copyOf(problems);
    }

    /** Node ids with more than one active, valid token: the newest wins, the others are reported. */
    public synchronized Map<String, List<BigInteger>> duplicateNodeIds() {
        Map<String, List<BigInteger>> byNode = new HashMap<>();
        tokens.values().stream().filter(t -> t.active() && t.valid())
                .forEach(t -> byNode.computeIfAbsent(t.nodeId(), k -> new ArrayList<>()).add(t.tokenId()));
        byNode.values().removeIf(l -> l.size() < 2);
        return byNode;
    }

    private void fire() {
        listeners.forEach(Runnable::run);
    }
}
