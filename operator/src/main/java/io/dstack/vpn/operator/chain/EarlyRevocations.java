package io.dstack.vpn.operator.chain;

import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import io.dstack.vpn.chain.contract.AccessEvent;
import io.dstack.vpn.chain.registry.TokenRecord;

/**
 * Revocations seen in a subscription's log stream before the follower has processed their block: they cut at once
 * (ADR 0013: early is the fail-closed direction). The follower's processing of the block then takes over: an entry
 * is dropped once the follower's checkpoint reaches its block (the registry holds the revocation, or, after a reorg
 * that undid it, does not), when the log comes back {@code removed: true}, or after {@link #TTL} whatever happens.
 *
 * <p>The log stream is as hostile as any RPC answer: a revocation claimed for a block far ahead of the chain's head
 * would otherwise cut its node until that block exists, so only blocks near the head are taken, and every entry
 * expires. Not thread-safe: the chain source calls it under its lock.
 */
final class EarlyRevocations {
    /** The longest an early revocation stands on its own; the follower processes its block long before. */
    static final Duration TTL = Duration.ofSeconds(60);
    /** How far past the newest head we know a log may claim to be: a log can arrive just before its head. */
    static final long AHEAD = 2;

    private record Entry(long block, String blockHash, Instant seen) {
    }

    private final Map<BigInteger, Entry> byToken = new HashMap<>();

    /** Takes a revocation from the stream; false when it is implausible or already known. */
    boolean offer(AccessEvent.Revoked revoked, long knownHead, Instant now) {
        long block = revoked.at().block();
        if (knownHead < 0 || block > knownHead + AHEAD || revoked.tokenId() == null) {
            return false;
        }
        return byToken.putIfAbsent(revoked.tokenId(), new Entry(block, revoked.at().blockHash(), now)) == null;
    }

    /** The stream took the log back ({@code removed: true}: its block left the canonical chain). */
    boolean retract(BigInteger tokenId, String blockHash) {
        Entry e = byToken.get(tokenId);
        if (e != null && (blockHash == null || blockHash.equalsIgnoreCase(e.blockHash()))) {
            byToken.remove(tokenId);
            return true;
        }
        return false;
    }

    /** Drops what the follower has caught up with, and what is too old; true when anything was dropped. */
    boolean settle(long processedBlock, Instant now) {
        return byToken.values().removeIf(e -> e.block() <= processedBlock || !now.isBefore(e.seen().plus(TTL)));
    }

    boolean isEmpty() {
        return byToken.isEmpty();
    }

    Set<BigInteger> tokens() {
        return Set.copyOf(byToken.keySet());
    }

    /** The record as the decisions should see it: an active token with an early revocation shows revoked. */
    TokenRecord overlay(TokenRecord t) {
        Entry e = byToken.get(t.tokenId());
        if (e == null || !t.active()) {
            return t;
        }
        return new TokenRecord(t.tokenId(), t.nodeId(), t.publicKey(), t.owner(), false, t.grantedAt(), t.ownerAtGrant(),
                t.keyBoundAt(), t.transferredAt(), e.block(), t.problem());
    }
}
