package io.dstack.vpn.chain.follower;

import java.math.BigInteger;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongUnaryOperator;

import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.chain.contract.AccessContract.TokenState;
import io.dstack.vpn.chain.contract.AccessEvent;
import io.dstack.vpn.chain.contract.AccessEvent.LogPosition;
import io.dstack.vpn.chain.rpc.RpcException;

/**
 * {@link ChainReads} over a chain a test writes block by block: logs, reorgs, a range limit, answers to hand out,
 * and every read recorded in {@link #calls}, so that tests assert what the follower asked for.
 */
final class ScriptedChain implements ChainReads {
    static final long CHAIN_ID = 8453;
    static final String OWNER = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
    static final String KEY = WireGuardKey.generatePrivate().publicKey().toBase64();

    /** A log to put in a block; the block says where it is. */
    interface Log {
        AccessEvent at(LogPosition position);
    }

    static Log granted(long tokenId) {
        return at -> new AccessEvent.Granted(at, BigInteger.valueOf(tokenId), "node-" + tokenId, OWNER, KEY);
    }

    static Log revoked(long tokenId) {
        return at -> new AccessEvent.Revoked(at, BigInteger.valueOf(tokenId), "node-" + tokenId);
    }

    static Log malformed(String reason) {
        return at -> new AccessEvent.Malformed(at, null, reason);
    }

    /** @param logs what eth_getLogs shows; @param effects what the contract did (the same, unless a log is unusable) */
    private record Block(BlockRef ref, List<AccessEvent> logs, List<AccessEvent> effects) {
    }

    final List<String> calls = new ArrayList<>();
    /** Answers for the next logsBetween calls, instead of the chain's logs. */
    final Deque<List<AccessEvent>> rangeAnswers = new ArrayDeque<>();
    /** Runs before every range read (a test moves its clock here: reads that take time). */
    Runnable beforeRangeRead = () -> { };
    /** Ranges longer than this are refused, as RPC providers do. */
    long rangeLimit = Long.MAX_VALUE;
    /** Blocks whose logs the next read misses (a log index that lags behind the block), by number. */
    private final Set<Long> missedOnce = new HashSet<>();
    /** Timestamp of block n, for blocks mined from now on. */
    LongUnaryOperator timestamps = n -> 1_767_225_600L + 2 * n;

    private final List<Block> blocks = new ArrayList<>();
    private int fork;

    ScriptedChain() {
        mine(); // genesis
    }

    BlockRef mine(Log... logs) {
        return mineShowing(logs, logs);
    }

    /** A block whose logs show {@code shown} while the contract did {@code done}. */
    BlockRef mineShowing(Log[] shown, Log[] done) {
        long n = blocks.size();
        String parent = n == 0 ? hash(0, -1) : blocks.get((int) n - 1).ref().hash();
        BlockRef ref = new BlockRef(n, hash(fork, n), parent, timestamps.applyAsLong(n));
        blocks.add(new Block(ref, place(shown, ref), place(done, ref)));
        return ref;
    }

    void mineEmpty(int count) {
        for (int i = 0; i < count; i++) {
            mine();
        }
    }

    /** Drops the blocks after {@code ancestor}; blocks mined from now on have new hashes. */
    void reorgTo(long ancestor) {
        blocks.subList((int) ancestor + 1, blocks.size()).clear();
        missedOnce.removeIf(n -> n > ancestor);
        fork++;
    }

    /** The next read of this block's logs (by hash or in a range) misses them; later reads see them. */
    void missOnce(BlockRef block) {
        missedOnce.add(block.number());
    }

    BlockRef head() {
        return blocks.getLast().ref();
    }

    List<String> callsStartingWith(String prefix) {
        return calls.stream().filter(c -> c.startsWith(prefix)).toList();
    }

    static String hash(int fork, long number) {
        return String.format("0x%032x%032x", fork + 1, number + 1);
    }

    private static List<AccessEvent> place(Log[] logs, BlockRef block) {
        List<AccessEvent> events = new ArrayList<>();
        for (int i = 0; i < logs.length; i++) {
            events.add(logs[i].at(new LogPosition(block.number(), block.hash(), i, hash(99, block.number() * 100 + i))));
        }
        return events;
    }

    @Override
    public long chainId() {
        calls.add("chainId");
        return CHAIN_ID;
    }

    @Override
    public BlockRef latestBlock() {
        calls.add("latest");
        return head();
    }

    @Override
    public BlockRef block(long number) {
        calls.add("block " + number);
        if (number < 0 || number >= blocks.size()) {
            throw new RpcException("block " + number + " not found", true, null, null);
        }
        return blocks.get((int) number).ref();
    }

    @Override
    public List<AccessEvent> logsOf(BlockRef block) {
        calls.add("logs of " + block.number());
        Block b = blocks.get((int) block.number());
        return b.ref().hash().equals(block.hash()) && !missedOnce.remove(block.number()) ? b.logs() : List.of();
    }

    @Override
    public List<AccessEvent> logsBetween(long from, long to) {
        calls.add("logs " + from + ".." + to);
        beforeRangeRead.run();
        if (!rangeAnswers.isEmpty()) {
            return rangeAnswers.poll();
        }
        if (to - from + 1 > rangeLimit) {
            throw new RpcException("block range exceeds the limit of " + rangeLimit, false, -32602, null);
        }
        return blocks.subList((int) from, (int) to + 1).stream().filter(b -> !missedOnce.remove(b.ref().number()))
                .flatMap(b -> b.logs().stream()).toList();
    }

    @Override
    public TokenSnapshot tokensAt(Collection<BigInteger> ids, long block) {
        calls.add("tokens at " + block + " x" + ids.size());
        Map<BigInteger, TokenState> state = new HashMap<>();
        for (Block b : blocks.subList(0, (int) block + 1)) {
            for (AccessEvent e : b.effects()) {
                switch (e) {
                    case AccessEvent.Granted g -> state.put(g.tokenId(), new TokenState(g.tokenId(), g.nodeId(), g.publicKey(),
                            BigInteger.valueOf(b.ref().timestamp()), true, g.owner()));
                    case AccessEvent.Revoked r -> state.computeIfPresent(r.tokenId(),
                            (id, s) -> new TokenState(id, s.nodeId(), s.publicKey(), s.createdAt(), false, s.owner()));
                    default -> {
                    }
                }
            }
        }
        List<TokenState> states = new ArrayList<>();
        List<BigInteger> missing = new ArrayList<>();
        for (BigInteger id : ids) {
            if (state.containsKey(id)) {
                states.add(state.get(id));
            } else {
                missing.add(id);
            }
        }
        return new TokenSnapshot(states, missing, List.of());
    }
}
