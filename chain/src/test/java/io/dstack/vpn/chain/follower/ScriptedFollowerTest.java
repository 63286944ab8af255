package io.dstack.vpn.chain.follower;

import static io.dstack.vpn.chain.follower.ScriptedChain.granted;
import static io.dstack.vpn.chain.follower.ScriptedChain.malformed;
import static io.dstack.vpn.chain.follower.ScriptedChain.revoked;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.LongUnaryOperator;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import io.dstack.vpn.chain.contract.AccessEvent;
import io.dstack.vpn.chain.registry.AccessRegistry;
import io.dstack.vpn.chain.registry.TokenRecord;

/** The follower against a {@link ScriptedChain}: reorgs, ranges, checkpoints, resyncs and heads, step by step, no anvil. */
class ScriptedFollowerTest {
    static final String CONTRACT = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
    static final Duration RESYNC = Duration.ofMinutes(5);

    final ScriptedChain chain = new ScriptedChain();
    final AccessRegistry registry = new AccessRegistry();
    final MutableClock clock = new MutableClock();
    final List<Checkpoint> checkpoints = new ArrayList<>();
    final List<List<Long>> reorgs = new ArrayList<>();
    final List<List<Integer>> resyncs = new ArrayList<>();

    ChainFollower follower(int reorgWindow, long initialRange, long maxRange) {
        FollowerConfig config = new FollowerConfig(CONTRACT, ScriptedChain.CHAIN_ID, 0, initialRange, maxRange, Duration.ofSeconds(2),
                RESYNC, 250, reorgWindow);
        return new ChainFollower(chain, config, registry, new FollowerListener() {
            @Override
            public void checkpoint(Checkpoint c) {
                checkpoints.add(c);
            }

            @Override
            public void reorg(long fromBlock, long toAncestor, int tokensReread) {
                reorgs.add(List.of(fromBlock, toAncestor, (long) tokensReread));
            }

            @Override
            public void resynced(int tokens, int corrected) {
                resyncs.add(List.of(tokens, corrected));
            }
        }, clock);
    }

    Set<Long> tokenIds() {
        Set<Long> ids = new TreeSet<>();
        registry.all().forEach(t -> ids.add(t.tokenId().longValueExact()));
        return ids;
    }

    static Set<Long> ids(long from, long to) {
        Set<Long> ids = new TreeSet<>();
        LongStream.rangeClosed(from, to).forEach(ids::add);
        return ids;
    }

    /** Blocks 1..10 each grant the token of their number, followed one poll per block (steady state). */
    ChainFollower followingTenGrants(int reorgWindow) {
        ChainFollower f = follower(reorgWindow, 16, 64);
        f.poll();
        for (long k = 1; k <= 10; k++) {
            chain.mine(granted(k));
            f.poll();
        }
        assertThat(chain.callsStartingWith("logs of")).as("steady state: logs by block hash").hasSize(10);
        assertThat(tokenIds()).isEqualTo(ids(1, 10));
        return f;
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            // case,                                          depth, ancestor, re-read, tokens left
            "one block: found by the new head's parent hash,  1,     9,        1,       9",
            "three blocks: walked back through the window,    3,     7,        3,       7",
            "deeper than the window: every token is re-read,  6,     6,        10,      4",
    })
    void aReorgRewindsToTheCommonAncestorAndReadsTheTokensAgainThere(String name, int depth, long ancestor, int reread, long tokensLeft) {
        ChainFollower f = followingTenGrants(4);
        chain.reorgTo(10 - depth);
        chain.mineEmpty(depth + 1); // the new branch grants nothing and is one block longer
        chain.calls.clear();

        f.poll();

        assertThat(reorgs).containsExactly(List.of(10L, ancestor, (long) reread));
        assertThat(chain.calls).as("no logs read from the head before the reorg is handled")
                .startsWith("latest", "block 10").contains("tokens at " + ancestor + " x" + reread);
        assertThat(tokenIds()).isEqualTo(ids(1, tokensLeft));
        assertThat(f.health().checkpoint()).isEqualTo(11);
        assertThat(f.health().checkpointHash()).isEqualTo(chain.head().hash());
    }

    static Stream<Arguments> ranges() {
        return Stream.of(
                arguments("no limit: doubles up to the maximum", Long.MAX_VALUE, 4, 16,
                        List.of("logs 0..3", "logs 4..11", "logs 12..27", "logs 28..43", "logs 44..59", "logs 60..75", "logs 76..91", "logs 92..99")),
                arguments("a limit of 10: halves on the refusal, doubles on success", 10, 16, 64,
                        List.of("logs 0..15", "logs 0..7", "logs 8..23", "logs 8..15", "logs 16..31", "logs 16..23")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("ranges")
    void aGapIsCaughtUpInRangesThatAdaptToTheRpc(String name, long limit, long initial, long max, List<String> firstReads) {
        chain.mineEmpty(29);
        chain.mine(granted(1)); // block 30
        chain.mineEmpty(59);
        chain.mine(granted(2)); // block 90
        chain.mineEmpty(9); // head 99
        chain.rangeLimit = limit;
        ChainFollower f = follower(256, initial, max);

        f.poll(); // the clock stands still: one poll catches up

        assertThat(chain.callsStartingWith("logs ")).startsWith(firstReads.toArray(String[]::new));
        assertThat(f.health().error()).isNull();
        assertThat(f.health().checkpoint()).isEqualTo(99);
        assertThat(registry.synced()).isTrue();
        assertThat(tokenIds()).containsExactly(1L, 2L);
    }

    @Test
    void aRangeWhoseLastBlockChangedWhileReadingIsReadAgain() {
        chain.mineEmpty(19);
        BlockRef end = chain.mine(granted(1)); // block 20, the head
        List<AccessEvent> fromAnotherFork = List.of(granted(1).at(new AccessEvent.LogPosition(20, ScriptedChain.hash(7, 20), 0,
                ScriptedChain.hash(99, 1))));
        chain.rangeAnswers.add(fromAnotherFork);
        chain.rangeAnswers.add(fromAnotherFork);
        ChainFollower f = follower(256, 5000, 50000);

        f.poll();
        assertThat(chain.callsStartingWith("logs ")).as("read again at once, then left to the next poll").containsExactly("logs 0..20", "logs 0..20");
        assertThat(f.health().checkpoint()).as("nothing taken from a block that changed under the read").isEqualTo(-1);
        assertThat(registry.get(BigInteger.ONE)).isEmpty();

        f.poll();
        assertThat(f.health().checkpoint()).isEqualTo(20);
        assertThat(f.health().checkpointHash()).isEqualTo(end.hash());
        assertThat(registry.get(BigInteger.ONE)).isPresent();
    }

    @Test
    void aMalformedLogMakesThatPollReadEveryTokenAtTheCheckpoint() {
        chain.mineEmpty(1);
        chain.mine(granted(1)); // block 2
        chain.mineEmpty(2);
        // Block 5 revoked token 1, but its log cannot be used.
        chain.mineShowing(new ScriptedChain.Log[] {malformed("undecodable data")}, new ScriptedChain.Log[] {revoked(1)});
        chain.mineEmpty(2);
        chain.mine(granted(2)); // block 8, the head
        ChainFollower f = follower(256, 4, 4); // ranges 0..3, 4..7, 8..8

        f.poll();

        // At the checkpoint, not at the end of the malformed log's range (block 7): that would undo block 8's grant.
        assertThat(chain.callsStartingWith("tokens ")).containsExactly("tokens at 8 x2");
        assertThat(resyncs).containsExactly(List.of(2, 1));
        assertThat(registry.get(BigInteger.ONE)).hasValueSatisfying(t -> assertThat(t.active()).as("fails closed").isFalse());
        assertThat(registry.get(BigInteger.TWO)).hasValueSatisfying(t -> assertThat(t.active()).isTrue());
        assertThat(registry.problems()).anySatisfy(p -> assertThat(p).contains("undecodable data"));
        assertThat(f.health().checkpoint()).isEqualTo(8);
    }

    @Test
    void aReorgStormWritesOneCheckpointPerIntervalAndTheLatestStateOnceItIsOver() {
        ChainFollower f = follower(16, 16, 64);
        f.poll();
        for (int i = 0; i < 5; i++) {
            chain.mine();
            f.poll();
        }
        int before = checkpoints.size();
        for (int i = 0; i < 30; i++) {
            clock.advance(Duration.ofSeconds(1));
            chain.reorgTo(chain.head().number() - 2); // replaces the last fork's two blocks
            chain.mine(granted(100 + i)); // every fork grants another token: a token change in every poll
            chain.mine();
            f.poll();
        }
        assertThat(reorgs).hasSize(30);
        assertThat(checkpoints.size() - before).as("one write per 10 s, not one per poll").isEqualTo(3);

        clock.advance(CheckpointThrottle.EVERY);
        chain.mine();
        f.poll();
        assertThat(checkpoints.size() - before).isEqualTo(4);
        Checkpoint last = checkpoints.getLast();
        assertThat(last.block()).isEqualTo(chain.head().number());
        assertThat(last.tokenIds()).containsExactly(BigInteger.valueOf(129));
    }

    @Test
    void aKnownHeadSavesTheReadOfLatest() {
        ChainFollower f = follower(16, 16, 64);
        chain.mine();
        f.poll();
        chain.mine(granted(1));
        chain.calls.clear();

        f.pollWithHead(chain.head());

        assertThat(chain.calls).containsExactly("logs of 2");
        assertThat(registry.get(BigInteger.ONE)).isPresent();
        assertThat(f.health().checkpoint()).isEqualTo(2);
    }

    @Test
    void aKnownHeadOnAnotherBranchIsAReorgAsFromTheRpc() {
        ChainFollower f = follower(16, 16, 64);
        chain.mine();
        f.poll();
        chain.mine(granted(1));
        f.poll();
        chain.reorgTo(1);
        chain.mine();
        chain.mine();
        chain.calls.clear();

        f.pollWithHead(chain.head());

        assertThat(chain.calls).startsWith("block 2", "block 1");
        assertThat(reorgs).containsExactly(List.of(2L, 1L, 1L));
        assertThat(registry.get(BigInteger.ONE)).isEmpty();
        assertThat(f.health().checkpoint()).isEqualTo(3);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "a hash that is not one,    0x1234",
            "a parent hash that is not, PARENT",
    })
    void aMalformedKnownHeadFailsThePollAsAMalformedBlockFromTheRpc(String name, String badHash) {
        ChainFollower f = follower(16, 16, 64);
        f.poll();
        BlockRef good = chain.mine(granted(1));
        BlockRef bad = badHash.equals("PARENT") ? new BlockRef(good.number(), good.hash(), "0xzz", good.timestamp())
                : new BlockRef(good.number(), badHash, good.parentHash(), good.timestamp());
        chain.calls.clear();

        f.pollWithHead(bad);

        assertThat(f.health().error()).startsWith("malformed block");
        assertThat(chain.calls).isEmpty();
        assertThat(registry.get(BigInteger.ONE)).isEmpty();
        assertThat(f.health().checkpoint()).isZero();
    }

    static Stream<Arguments> blockTimes() {
        return Stream.of(
                arguments("1000 blocks over 200 s", 1200, (LongUnaryOperator) n -> 1_767_225_600L + n / 5, "block 200", Duration.ofMillis(200)),
                arguments("fewer blocks than the span", 10, (LongUnaryOperator) n -> 1_767_225_600L + 2 * n, "block 0", Duration.ofSeconds(2)),
                arguments("zero span", 50, (LongUnaryOperator) n -> 1_767_225_600L, "block 0", null),
                arguments("only the genesis block", 0, (LongUnaryOperator) n -> 1_767_225_600L, null, null));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("blockTimes")
    void theBlockTimeIsEstimatedOverUpToAThousandBlocks(String name, int head, LongUnaryOperator timestamps, String read, Duration expected) {
        chain.reorgTo(-1);
        chain.timestamps = timestamps;
        chain.mineEmpty(head + 1);
        ChainFollower f = follower(256, 5000, 50000);

        f.poll();
        f.poll();

        assertThat(f.health().blockTime()).isEqualTo(expected);
        assertThat(chain.callsStartingWith("block ")).as("one read, at the start").isEqualTo(read == null ? List.of() : List.of(read));
    }

    @Test
    void theBlockTimeIsMeasuredAgainAtEachResync() {
        chain.timestamps = n -> 1_767_225_600L + n / 5;
        chain.mineEmpty(1200);
        ChainFollower f = follower(256, 5000, 50000);
        f.poll();
        assertThat(f.health().blockTime()).isEqualTo(Duration.ofMillis(200));

        chain.timestamps = n -> 1_767_225_600L + 240 + (n - 1200);
        chain.mineEmpty(100); // head 1300: blocks 300..1300 took 280 s
        clock.advance(Duration.ofMinutes(5));
        f.poll();

        assertThat(resyncs).hasSize(1);
        assertThat(f.health().blockTime()).isEqualTo(Duration.ofMillis(280));
        // block 1200: the checkpoint, checked before the gap to 1300 is read
        assertThat(chain.callsStartingWith("block ")).containsExactly("block 200", "block 1200", "block 300");
    }

    // --- periodic resync: the logs since the previous one, and the tokens they name ---

    static BigInteger id(long n) {
        return BigInteger.valueOf(n);
    }

    boolean active(long tokenId) {
        return registry.get(id(tokenId)).map(TokenRecord::active).orElseThrow();
    }

    /** Block 1 grants tokens 1..n (the next block mined). */
    void grantInOneBlock(int n) {
        chain.mine(LongStream.rangeClosed(1, n).mapToObj(ScriptedChain::granted).toArray(ScriptedChain.Log[]::new));
    }

    ChainFollower syncedAndResynced(int tokens) {
        return syncedAndResynced(follower(256, 16, 64), tokens);
    }

    /** Block 1 grants tokens 1..n; {@code f} follows from block 0 and makes its first resync at block 2. */
    ChainFollower syncedAndResynced(ChainFollower f, int tokens) {
        grantInOneBlock(tokens);
        f.poll();
        chain.mine(); // block 2
        clock.advance(RESYNC);
        f.poll();
        assertThat(chain.callsStartingWith("tokens ")).as("after a start without checkpoint, the first resync reads every token")
                .containsExactly("tokens at 2 x" + tokens);
        assertThat(resyncs).containsExactly(List.of(tokens, 0));
        return f;
    }

    @ParameterizedTest(name = "{0} tokens")
    @ValueSource(ints = {10, 1_000})
    void aResyncReadsTheLogsSinceThePreviousOneAndNoTokenWhenTheyNameNone(int tokens) {
        ChainFollower f = syncedAndResynced(tokens);
        for (int i = 0; i < 5; i++) {
            chain.mine(); // blocks 3..7, one per poll
            f.poll();
        }
        chain.mine(); // block 8
        clock.advance(RESYNC);
        chain.calls.clear();

        f.poll();

        // The same calls at 10 and at 1,000 tokens: the new block's two, the chain id, the logs of the blocks since the
        // previous resync (one range), the block-time read. No token is read.
        assertThat(chain.calls).containsExactly("latest", "logs of 8", "chainId", "logs 3..8", "block 0");
        assertThat(resyncs).containsExactly(List.of(tokens, 0), List.of(0, 0));
    }

    /** The next block revokes the token, and the follower's read of it misses the log; then one empty block. */
    ChainFollower missingARevocation(ChainFollower f, long token) {
        chain.missOnce(chain.mine(revoked(token)));
        f.poll();
        chain.mine();
        f.poll();
        return f;
    }

    /** Block 1 grants tokens 1..3, the head is block 5, and the follower will start from a checkpoint there. */
    ChainFollower loadingACheckpointAtBlock5() {
        grantInOneBlock(3);
        chain.mineEmpty(4);
        ChainFollower f = follower(256, 16, 64);
        f.resumeFrom(new Checkpoint(5, chain.head().hash(), new TreeSet<>(Set.of(id(1), id(2), id(3))), Map.of()));
        return f;
    }

    /** Block 3 revokes token 3, missed. Head 4. */
    ChainFollower missedWhileFollowing() {
        return missingARevocation(syncedAndResynced(5), 3);
    }

    /** Loaded from a checkpoint at block 5; block 6 revokes token 2, missed. Head 7. */
    ChainFollower missedAfterACheckpointLoad() {
        ChainFollower f = loadingACheckpointAtBlock5();
        f.poll();
        return missingARevocation(f, 2);
    }

    /**
     * A resync reads the logs through block 8; then a reorg replaces blocks 5..8 with a branch that revokes token 2
     * in block 5, and the follower misses that log. Head 9.
     */
    ChainFollower missedOnABranchThatReplacedBlocksAResyncRead() {
        ChainFollower f = syncedAndResynced(3);
        for (int i = 0; i < 5; i++) {
            chain.mine(); // blocks 3..7
            f.poll();
        }
        chain.mine(); // block 8
        clock.advance(RESYNC);
        f.poll();
        assertThat(chain.calls).as("the second resync read the logs through block 8").contains("logs 3..8");
        chain.reorgTo(4);
        chain.missOnce(chain.mine(revoked(2)));
        chain.mineEmpty(4);
        f.poll();
        assertThat(reorgs).containsExactly(List.of(8L, 4L, 0L));
        assertThat(f.health().checkpoint()).isEqualTo(9);
        return f;
    }

    static Stream<Arguments> missedRevocations() {
        return Stream.of(
                arguments("while following", (Function<ScriptedFollowerTest, ChainFollower>) ScriptedFollowerTest::missedWhileFollowing,
                        3, "logs 3..4", "tokens at 4 x1"),
                arguments("the first resync after a checkpoint load: from the block after it",
                        (Function<ScriptedFollowerTest, ChainFollower>) ScriptedFollowerTest::missedAfterACheckpointLoad, 2, "logs 6..7",
                        "tokens at 7 x1"),
                arguments("a reorg took the checkpoint below the previous resync: from the common ancestor on, not from block 9",
                        (Function<ScriptedFollowerTest, ChainFollower>) ScriptedFollowerTest::missedOnABranchThatReplacedBlocksAResyncRead,
                        2, "logs 5..9", "tokens at 9 x1"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("missedRevocations")
    void aMissedRevocationIsCorrectedByTheNextResyncWhichReadsOnlyThatToken(String name, Function<ScriptedFollowerTest, ChainFollower> missed,
            long token, String logsRead, String tokensRead) {
        ChainFollower f = missed.apply(this);
        assertThat(active(token)).as("the revocation was missed").isTrue();
        int activeBefore = registry.all().stream().filter(TokenRecord::active).toList().size();
        clock.advance(RESYNC);
        chain.calls.clear();

        f.poll();

        assertThat(chain.calls).containsExactly("latest", "chainId", logsRead, tokensRead, "block 0");
        assertThat(resyncs.getLast()).isEqualTo(List.of(1, 1));
        assertThat(active(token)).isFalse();
        assertThat(registry.all()).filteredOn(TokenRecord::active).hasSize(activeBefore - 1);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "seen while following,                     false",
            "seen only when the resync reads it again, true",
    })
    void anUnusableLogMakesTheResyncReadEveryKnownTokenAtTheCheckpoint(String name, boolean missedWhileFollowing) {
        ChainFollower f = syncedAndResynced(3);
        // Block 3 revoked token 1, but its log cannot be used.
        BlockRef bad = chain.mineShowing(new ScriptedChain.Log[] {malformed("undecodable data")}, new ScriptedChain.Log[] {revoked(1)});
        if (missedWhileFollowing) {
            chain.missOnce(bad);
        }
        chain.mine(granted(4)); // block 4
        f.poll();
        clock.advance(RESYNC);
        f.poll();

        assertThat(chain.callsStartingWith("tokens ")).as("after the first resync's read of every token: every one again")
                .containsExactly("tokens at 2 x3", "tokens at 4 x4");
        assertThat(resyncs).contains(List.of(4, 1));
        assertThat(active(1)).as("fails closed").isFalse();
        assertThat(active(4)).isTrue();
        assertThat(registry.problems()).anySatisfy(p -> assertThat(p).contains("undecodable data"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "after a checkpoint load (every token read): the 12th,  true,  LLLLLLLLLLLFLL",
            "after a start without checkpoint: the 1st and the 13th, false, FLLLLLLLLLLLFL",
    })
    void oneResyncInTwelveReadsEveryToken(String name, boolean fromCheckpoint, String expected) {
        ChainFollower f;
        if (fromCheckpoint) {
            f = loadingACheckpointAtBlock5();
        } else {
            grantInOneBlock(3);
            chain.mineEmpty(4); // head 5
            f = follower(256, 16, 64);
        }
        f.poll();
        StringBuilder kinds = new StringBuilder();
        for (int i = 0; i < expected.length(); i++) {
            BlockRef block = chain.mine();
            clock.advance(RESYNC);
            chain.calls.clear();
            f.poll();
            if (chain.calls.contains("tokens at " + block.number() + " x3")) {
                kinds.append('F');
            } else if (chain.calls.contains("logs " + block.number() + ".." + block.number())) {
                kinds.append('L');
            } else {
                kinds.append('?');
            }
        }
        assertThat(kinds.toString()).isEqualTo(expected);
        assertThat(resyncs).hasSize(expected.length());
    }

    @Test
    void logsOfAnotherBranchAreNotTakenAsReadAgain() {
        ChainFollower f = syncedAndResynced(3);
        chain.mine(); // block 3
        f.poll();
        chain.mine(); // block 4
        f.poll();
        // A revocation in block 4, as a node on another branch has it: the follower knows block 4 by another hash.
        List<AccessEvent> fromAnotherBranch = List.of(revoked(2).at(new AccessEvent.LogPosition(4, ScriptedChain.hash(7, 4), 0,
                ScriptedChain.hash(99, 2))));
        chain.rangeAnswers.add(fromAnotherBranch);
        chain.rangeAnswers.add(fromAnotherBranch);
        clock.advance(RESYNC);
        chain.calls.clear();

        f.poll();
        assertThat(chain.calls).as("read again at once, then left to the next poll").containsExactly("latest", "chainId", "logs 3..4",
                "logs 3..4");
        assertThat(active(2)).isTrue();
        assertThat(resyncs).as("not done").hasSize(1);

        chain.calls.clear();
        f.poll();
        assertThat(chain.calls).containsExactly("latest", "logs 3..4", "block 0");
        assertThat(resyncs).containsExactly(List.of(3, 0), List.of(0, 0));
        assertThat(active(2)).isTrue();
    }

    @Test
    void aResyncLongerThanOnePollsBudgetGoesOnAtTheNextPollWhereItStopped() {
        ChainFollower f = syncedAndResynced(follower(256, 4, 4), 3); // ranges of 4 blocks
        for (int n = 3; n <= 20; n++) {
            if (n == 3 || n == 15) {
                chain.missOnce(chain.mine(revoked(n == 3 ? 1 : 2))); // both revocations missed while following
            } else {
                chain.mine();
            }
            f.poll();
        }
        assertThat(active(1) && active(2)).isTrue();
        clock.advance(RESYNC);
        chain.beforeRangeRead = () -> clock.advance(Duration.ofSeconds(1)); // each range read takes 1 s of the 2 s budget

        chain.calls.clear();
        f.poll();
        assertThat(chain.calls).containsExactly("latest", "chainId", "logs 3..6", "tokens at 20 x1", "logs 7..10");
        assertThat(active(1)).isFalse();
        assertThat(resyncs).as("not done yet").hasSize(1);

        chain.mine(); // block 21
        chain.calls.clear();
        f.poll();
        assertThat(chain.calls).containsExactly("latest", "logs of 21", "logs 11..14", "logs 15..18", "tokens at 21 x1");
        assertThat(active(2)).isFalse();
        assertThat(resyncs).hasSize(1);

        chain.mine(); // block 22
        chain.calls.clear();
        f.poll();
        assertThat(chain.calls).containsExactly("latest", "logs of 22", "logs 19..22", "block 0");
        assertThat(resyncs).containsExactly(List.of(3, 0), List.of(2, 2));
    }
}
