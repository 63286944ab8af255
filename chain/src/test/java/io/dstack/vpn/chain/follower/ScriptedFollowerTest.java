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
import java.util.Set;
import java.util.TreeSet;
import java.util.function.LongUnaryOperator;
import java.util.stream.LongStream;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import io.dstack.vpn.chain.contract.AccessEvent;
import io.dstack.vpn.chain.registry.AccessRegistry;

/** The follower against a {@link ScriptedChain}: reorgs, ranges, checkpoints, resyncs and heads, step by step, no anvil. */
class ScriptedFollowerTest {
    static final String CONTRACT = "0x5fbdb2315678afecb367f032d93f642f64180aa3";

    final ScriptedChain chain = new ScriptedChain();
    final AccessRegistry registry = new AccessRegistry();
    final MutableClock clock = new MutableClock();
    final List<Checkpoint> checkpoints = new ArrayList<>();
    final List<List<Long>> reorgs = new ArrayList<>();
    final List<List<Integer>> resyncs = new ArrayList<>();

    ChainFollower follower(int reorgWindow, long initialRange, long maxRange) {
        FollowerConfig config = new FollowerConfig(CONTRACT, ScriptedChain.CHAIN_ID, 0, initialRange, maxRange, Duration.ofSeconds(2),
                Duration.ofMinutes(5), 250, reorgWindow);
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
    void aMalformedLogForcesAResyncAtTheEndOfItsRange() {
        chain.mineEmpty(1);
        chain.mine(granted(1)); // block 2
        chain.mineEmpty(2);
        // Block 5 revoked token 1, but its log cannot be used.
        chain.mineShowing(new ScriptedChain.Log[] {malformed("undecodable data")}, new ScriptedChain.Log[] {revoked(1)});
        chain.mineEmpty(3); // head 8
        ChainFollower f = follower(256, 4, 4); // ranges 0..3, 4..7, 8..8

        f.poll();

        assertThat(chain.callsStartingWith("tokens ")).containsExactly("tokens at 7 x1");
        assertThat(resyncs).containsExactly(List.of(1, 1));
        assertThat(registry.get(BigInteger.ONE)).hasValueSatisfying(t -> assertThat(t.active()).as("fails closed").isFalse());
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
}
