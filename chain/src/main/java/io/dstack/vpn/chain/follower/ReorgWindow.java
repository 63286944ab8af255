package io.dstack.vpn.chain.follower;

import java.math.BigInteger;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.LongFunction;

/**
 * The recent blocks the follower can rewind to: hashes of its checkpoints and of blocks that carried its logs, and
 * the tokens each block touched, for the last {@code size} blocks. A reorg is found by hash only (anvil sends no
 * {@code removed:true} logs); the newest kept block whose hash the chain still has is the common ancestor.
 */
final class ReorgWindow {
    /**
     * Where to rewind to.
     *
     * @param ancestor      the block to continue from (-1: before block 0)
     * @param touchedSince  tokens touched after the ancestor, to read again at it
     * @param beyondWindow  no kept block is old enough to be trusted: every known token must be read again
     */
    record Rewind(long ancestor, Set<BigInteger> touchedSince, boolean beyondWindow) {
    }

    private final int size;
    private final long fromBlock;
    private final NavigableMap<Long, String> hashes = new TreeMap<>();
    private final NavigableMap<Long, Set<BigInteger>> touched = new TreeMap<>();

    /** @param fromBlock the first block the follower reads: a rewind never goes before it */
    ReorgWindow(int size, long fromBlock) {
        this.size = size;
        this.fromBlock = fromBlock;
    }

    void remember(long block, String hash) {
        hashes.put(block, hash);
    }

    void touched(long block, BigInteger tokenId) {
        touched.computeIfAbsent(block, k -> new HashSet<>()).add(tokenId);
    }

    /** Whether the window keeps another hash for this block: a log that names {@code hash} comes from another branch. */
    boolean contradicts(long block, String hash) {
        String known = hashes.get(block);
        return known != null && hash != null && !known.equalsIgnoreCase(hash);
    }

    /** Forgets blocks that fell out of the window behind {@code checkpoint}. */
    void slide(long checkpoint) {
        long floor = checkpoint - size;
        hashes.headMap(floor, false).clear();
        touched.headMap(floor, false).clear();
    }

    /**
     * Our block {@code suspect} (or an earlier one) is no longer canonical: walks back through the kept blocks,
     * newest first, to the first whose hash still is. Changes nothing: the caller re-reads the tokens, then calls
     * {@link #forgetAfter}, so a failed re-read is tried again with the same window.
     *
     * @param canonicalHash the hash of a block number on the chain as it is now
     */
    Rewind rewindFrom(long suspect, LongFunction<String> canonicalHash) {
        long ancestor = -1;
        for (Map.Entry<Long, String> known : hashes.headMap(suspect, true).descendingMap().entrySet()) {
            if (canonicalHash.apply(known.getKey()).equals(known.getValue())) {
                ancestor = known.getKey();
                break;
            }
        }
        if (ancestor < 0) {
            // Deeper than the window: the oldest block we still can trust.
            ancestor = Math.max(fromBlock - 1, suspect - size);
        }
        Set<BigInteger> since = new LinkedHashSet<>();
        touched.tailMap(ancestor, false).values().forEach(since::addAll);
        return new Rewind(ancestor, since, ancestor < suspect - size + 1);
    }

    /** Drops what is known about blocks after {@code ancestor}: they are no longer canonical. */
    void forgetAfter(long ancestor) {
        hashes.tailMap(ancestor, false).clear();
        touched.tailMap(ancestor, false).clear();
    }
}
