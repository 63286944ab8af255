package io.dstack.vpn.chain.follower;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.math.BigInteger;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.web3j.abi.FunctionEncoder;
import org.web3j.abi.datatypes.Utf8String;

import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.chain.contract.AccessContract;
import io.dstack.vpn.chain.registry.AccessRegistry;
import io.dstack.vpn.chain.rpc.RpcClient;
import io.dstack.vpn.chain.rpc.RpcLimits;
import io.dstack.vpn.chain.rpc.RpcListener;
import io.dstack.vpn.testing.HostileRpcServer;
import io.dstack.vpn.testing.HostileRpcServer.Hostility;

/**
 * The real follower against {@link HostileRpcServer}: whatever the endpoint answers, a poll returns, bounded
 * clean text reaches health, bad logs are reported and skipped (never applied, never a stall).
 */
class HostileFollowerTest {
    static final String CONTRACT = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
    static final String OWNER = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
    static final long HEAD = 20;
    static final long GRANT_BLOCK = 5;

    final HostileRpcServer server;
    final AccessRegistry registry = new AccessRegistry();
    final MutableClock clock = new MutableClock();
    final AtomicInteger checkpoints = new AtomicInteger();
    final AtomicInteger reorgs = new AtomicInteger();
    final ChainFollower follower;

    HostileFollowerTest() throws Exception {
        server = HostileRpcServer.start(8453, CONTRACT, HEAD);
        server.addLog(GRANT_BLOCK, List.of(AccessContract.TOPIC_GRANTED, word(BigInteger.ONE.toString(16)), word(OWNER.substring(2))),
                "0x" + FunctionEncoder.encodeConstructor(List.of(new Utf8String("node-a"),
                        new Utf8String(WireGuardKey.generatePrivate().publicKey().toBase64()))));
        RpcClient rpc = new RpcClient(List.of(server.url()), RpcLimits.of(Duration.ofMillis(800)).withMaxBodyBytes(1 << 20), 1,
                Duration.ofMillis(1), Duration.ofMillis(1), RpcListener.NONE);
        FollowerConfig config = FollowerConfig.of(CONTRACT, 8453, 0, Duration.ofMillis(100), Duration.ofMinutes(5));
        follower = new ChainFollower(rpc, config, registry, new FollowerListener() {
            @Override
            public void checkpoint(Checkpoint c) {
                checkpoints.incrementAndGet();
            }

            @Override
            public void reorg(long fromBlock, long toAncestor, int tokensReread) {
                reorgs.incrementAndGet();
            }
        }, clock);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    static String word(String hex) {
        return "0x" + "0".repeat(64 - hex.length()) + hex;
    }

    void poll() {
        assertTimeoutPreemptively(Duration.ofSeconds(30), follower::poll, "a poll must return whatever the endpoint does");
    }

    @Test
    void anHonestEndpointGrantsTheToken() {
        // The baseline that makes the cases below mean something: the same log, served honestly, is applied.
        poll();
        assertThat(follower.health().checkpoint()).isEqualTo(HEAD);
        assertThat(registry.get(BigInteger.ONE)).hasValueSatisfying(t -> assertThat(t.nodeId()).isEqualTo("node-a"));
        assertThat(registry.problems()).isEmpty();
    }

    @Test
    void logsOfAnotherContractAreReportedNotApplied() {
        server.hostility(Hostility.FOREIGN_CONTRACT_LOGS);
        poll();
        assertThat(registry.get(BigInteger.ONE)).isEmpty();
        assertThat(registry.problems()).singleElement().asString().contains("another contract");
        assertThat(follower.health().checkpoint()).isEqualTo(HEAD);
    }

    @Test
    void logsOutsideTheRequestedBlocksAreReportedNotApplied() {
        server.hostility(Hostility.OUT_OF_RANGE_LOGS);
        poll();
        assertThat(registry.get(BigInteger.ONE)).isEmpty();
        assertThat(registry.problems()).singleElement().asString().contains("outside the requested blocks");
        assertThat(follower.health().checkpoint()).isEqualTo(HEAD);
    }

    @Test
    void malformedHexIsReportedAndTheFollowerMovesOn() {
        server.hostility(Hostility.MALFORMED_HEX);
        poll();
        poll();
        // Before: blockNumber was parsed outside the decoder's guard, every poll failed on the same range.
        assertThat(follower.health().error()).isNull();
        assertThat(follower.health().checkpoint()).isEqualTo(HEAD);
        assertThat(registry.problems()).isNotEmpty().allSatisfy(p -> assertThat(p).contains("malformed blockNumber"));
    }

    @Test
    void aChainIdThatChangesAfterTheStartStopsTheFollower() {
        poll();
        server.hostility(Hostility.WRONG_CHAIN_ID);
        clock.advance(Duration.ofMinutes(6)); // past the resync interval
        server.mine(1);
        poll();
        // Before: the chain id was checked once, at the start; the follower went on reading the other chain.
        assertThat(follower.health().fatal()).isTrue();
        assertThat(follower.health().error()).contains("chain id 8454").contains("expects 8453");
    }

    @Test
    void aFailoverNeverLandsOnAnotherChain() throws Exception {
        // Two endpoints: the first honest, the second serving another chain with a grant of its own.
        try (HostileRpcServer other = HostileRpcServer.start(8453, CONTRACT, HEAD + 5)) {
            other.addLog(HEAD + 3, List.of(AccessContract.TOPIC_GRANTED, word("2"), word(OWNER.substring(2))),
                    "0x" + FunctionEncoder.encodeConstructor(List.of(new Utf8String("intruder"),
                            new Utf8String(WireGuardKey.generatePrivate().publicKey().toBase64()))));
            other.hostility(Hostility.WRONG_CHAIN_ID);
            RpcClient rpc = new RpcClient(List.of(server.url(), other.url()), RpcLimits.of(Duration.ofMillis(800)), 4,
                    Duration.ofMillis(1), Duration.ofMillis(1), RpcListener.NONE);
            AccessRegistry reg = new AccessRegistry();
            ChainFollower f = new ChainFollower(rpc, FollowerConfig.of(CONTRACT, 8453, 0, Duration.ofMillis(100), Duration.ofMinutes(5)),
                    reg, new FollowerListener() { }, clock);
            assertTimeoutPreemptively(Duration.ofSeconds(30), f::poll);
            assertThat(reg.get(BigInteger.ONE)).isPresent();
            server.hostility(Hostility.SLOW_BODY); // the honest endpoint stalls: the client fails over
            server.mine(5);
            for (int i = 0; i < 3; i++) {
                assertTimeoutPreemptively(Duration.ofSeconds(30), f::poll);
            }
            // Before: the second endpoint answered as if it were the same chain, and its grant was applied.
            assertThat(reg.get(BigInteger.TWO)).isEmpty();
            assertThat(f.health().checkpoint()).isEqualTo(HEAD);
            assertThat(f.health().error()).isNotNull();
        }
    }

    @Test
    void anEndpointOfAnotherChainStopsTheFollowerAtOnce() {
        server.hostility(Hostility.WRONG_CHAIN_ID);
        poll();
        assertThat(follower.health().fatal()).isTrue();
        assertThat(follower.health().error()).contains("chain id 8454").contains("expects 8453");
        assertThat(registry.size()).isZero();
    }

    @Test
    void aStormOfReorgsDoesNotWriteACheckpointPerPoll() {
        poll();
        int before = checkpoints.get();
        server.hostility(Hostility.REORG_STORM);
        for (int i = 0; i < 20; i++) {
            poll();
        }
        assertThat(reorgs.get()).as("every poll sees a reorg").isGreaterThanOrEqualTo(10);
        // Before: every rewind saved a checkpoint, one ConfigMap write per poll. The clock stands still here.
        assertThat(checkpoints.get() - before).isLessThanOrEqualTo(1);
        assertThat(follower.health().fatal()).isFalse();
        clock.advance(Duration.ofSeconds(11));
        server.hostility(Hostility.NONE);
        poll();
        assertThat(checkpoints.get() - before).as("saved once the storm is over").isGreaterThanOrEqualTo(1);
    }

    @Test
    void aTrickledBodyFailsThePollInsteadOfHangingIt() {
        server.hostility(Hostility.SLOW_BODY);
        poll();
        assertThat(follower.health().error()).contains("no complete reply");
    }

    @Test
    void aHundredMegabyteBodyFailsThePoll() {
        server.hostility(Hostility.HUGE_BODY);
        poll();
        assertThat(follower.health().error()).contains("exceeds the limit");
    }

    @Test
    void aHugeErrorReachesHealthCutAndClean() {
        server.hostility(Hostility.HUGE_ERROR);
        poll();
        assertThat(follower.health().error()).hasSizeLessThanOrEqualTo(512).doesNotContain(HostileRpcServer.ERROR_SECRET)
                .doesNotContain("\n").doesNotContain("HOSTILE-SECRET-PATH");
    }
}
