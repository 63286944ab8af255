package io.dstack.vpn.chain.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.web3j.crypto.Credentials;
import org.web3j.crypto.RawTransaction;
import org.web3j.crypto.TransactionEncoder;
import org.web3j.utils.Numeric;

import com.fasterxml.jackson.databind.JsonNode;

import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.chain.contract.AccessContract;
import io.dstack.vpn.chain.follower.ChainFollower;
import io.dstack.vpn.chain.follower.FollowerConfig;
import io.dstack.vpn.chain.follower.FollowerListener;
import io.dstack.vpn.chain.registry.AccessRegistry;
import io.dstack.vpn.chain.registry.TokenRecord;
import io.dstack.vpn.chain.rpc.RpcCall;
import io.dstack.vpn.chain.rpc.RpcClient;
import io.dstack.vpn.chain.rpc.RpcException;
import io.dstack.vpn.chain.rpc.RpcListener;
import io.dstack.vpn.chain.rpc.RpcResult;
import io.dstack.vpn.testing.Anvil;

/**
 * Benchmark of the chain follower against a real anvil: initial sync of many tokens, RPC calls per new block at
 * steady state (10 / 1,000 / 10,000 tokens), the cost of a full resync and of a resync of logs, and revoke-to-registry
 * latency with a real scheduled poll loop. Not a test: the class name ends in neither Test nor IT, so CI never runs
 * it. Run it with {@code hack/bench-chain.sh} (or {@code ./mvnw -pl chain test -Dtest=FollowerBenchmark}); results
 * are printed and written to {@code chain/target/follower-benchmark.txt}.
 *
 * <p>System properties: {@code bench.tokens} (default 10000), {@code bench.blocks} (steady-state blocks per size,
 * default 100), {@code bench.samples} (revocations per poll interval, default 30), {@code bench.syncRuns}
 * (default 3).
 */
class FollowerBenchmark {
    static final int TOKENS = Integer.getInteger("bench.tokens", 10_000);
    static final int BLOCKS = Integer.getInteger("bench.blocks", 100);
    static final int SAMPLES = Integer.getInteger("bench.samples", 30);
    static final int SYNC_RUNS = Integer.getInteger("bench.syncRuns", 3);
    /** Mints sent per mined block in the bulk mint. */
    static final int MINTS_PER_BLOCK = 200;
    /** Block gas limit: ~200 mints per block stay under half of it, so the base fee does not climb. */
    static final long GAS_LIMIT = 200_000_000L;

    final StringBuilder report = new StringBuilder();
    final AtomicInteger nodeCounter = new AtomicInteger();
    TestChain chain;

    /** Counts what one follower's RpcClient sends. */
    static final class Counter implements RpcListener {
        final AtomicLong requests = new AtomicLong();
        final AtomicLong calls = new AtomicLong();
        final AtomicLong failed = new AtomicLong();
        final Map<String, long[]> byMethod = Collections.synchronizedMap(new TreeMap<>());

        @Override
        public void completed(String endpoint, String method, int n, long nanos) {
            count(method, n);
        }

        @Override
        public void failed(String endpoint, String method, int n, long nanos, RpcException error) {
            failed.incrementAndGet();
            count(method, n);
        }

        private void count(String method, int n) {
            requests.incrementAndGet();
            calls.addAndGet(n);
            long[] c = byMethod.computeIfAbsent(method, k -> new long[2]);
            c[0]++;
            c[1] += n;
        }

        Snapshot snap() {
            return new Snapshot(requests.get(), calls.get(), failed.get());
        }

        String methods() {
            StringBuilder b = new StringBuilder();
            synchronized (byMethod) {
                byMethod.forEach((m, c) -> b.append(b.isEmpty() ? "" : ", ").append(m).append(" ").append(c[1]).append(" calls/")
                        .append(c[0]).append(" req"));
            }
            return b.toString();
        }
    }

    record Snapshot(long requests, long calls, long failed) {
        Snapshot minus(Snapshot o) {
            return new Snapshot(requests - o.requests, calls - o.calls, failed - o.failed);
        }
    }

    /** Wall clock plus an offset that the benchmark moves forward to make a resync due. */
    static final class ShiftedClock extends Clock {
        volatile Duration offset = Duration.ZERO;

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.now().plus(offset);
        }
    }

    /** A follower with its own counted RpcClient (the operator's settings: 3 s timeout, 2 attempts). */
    final class Bench {
        final Counter counter = new Counter();
        final RpcClient rpc = new RpcClient(List.of(chain.anvil.rpcUrl()), Duration.ofSeconds(3), 2, Duration.ofMillis(200),
                Duration.ofSeconds(2), counter);
        final AccessRegistry registry = new AccessRegistry();
        final ShiftedClock clock = new ShiftedClock();
        final AtomicInteger resynced = new AtomicInteger(-1);
        final ChainFollower follower;

        Bench() {
            this(FollowerConfig.of(chain.contract, Anvil.BASE_CHAIN_ID, 0, Duration.ofSeconds(1), Duration.ofHours(1)));
        }

        Bench(FollowerConfig config) {
            follower = new ChainFollower(rpc, config, registry, new FollowerListener() {
                @Override
                public void resynced(int tokens, int corrected) {
                    resynced.set(tokens);
                }
            }, clock);
        }

        int syncFully() {
            int polls = 0;
            while (!registry.synced()) {
                follower.poll();
                polls++;
                assertThat(polls).as("polls to sync (health %s)", follower.health()).isLessThan(10_000);
            }
            assertThat(follower.health().error()).isNull();
            return polls;
        }
    }

    @Test
    void benchmark() throws Exception {
        long started = System.nanoTime();
        line("# Chain follower benchmark");
        line("machine: %d CPUs (availableProcessors), JVM max heap %d MiB, Java %s (%s), %s %s; anvil from contracts/node_modules",
                Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20, System.getProperty("java.version"),
                System.getProperty("java.vm.name"), System.getProperty("os.name"), System.getProperty("os.arch"));
        line("load average at start: %s", loadAverage());
        line("");
        chain = new TestChain(Anvil.Options.defaults().withExtraArgs(List.of("--gas-limit", Long.toString(GAS_LIMIT))));
        try {
            List<String> steady = new ArrayList<>();
            List<String> resyncs = new ArrayList<>();
            int[] sizes = java.util.stream.IntStream.of(10, 1_000, 10_000, TOKENS).filter(n -> n <= TOKENS).sorted().distinct().toArray();
            for (int size : sizes) {
                int have = nodeCounter.get();
                if (size > have) {
                    bulkMint(size - have);
                }
                if (size == sizes[sizes.length - 1]) {
                    initialSync();
                }
                Bench b = new Bench();
                b.syncFully();
                steady.add(steadyState(b));
                if (size == sizes[0]) {
                    // Blocks arriving faster than polls (e.g. a poll period a little longer than the block time).
                    steady.add(behind(b, 2));
                    steady.add(behind(b, 5));
                }
                resyncs.add(resync(b, "every token (the first after a start without checkpoint)", b.registry.size()));
                resyncs.add(resync(b, "logs since the previous one (nothing happened)", 0));
                if (size == sizes[sizes.length - 1]) {
                    revocationLatency(b, Duration.ofMillis(100));
                    revocationLatency(b, Duration.ofMillis(20));
                }
            }
            line("");
            line("## Steady state: one new block per poll unless stated (resync interval 1 h, so no resync inside)");
            line("| tokens | blocks | calls/new block | requests/new block | poll time per block p50 / p99 | calls by method |");
            line("|---|---|---|---|---|---|");
            steady.forEach(this::line);
            line("");
            line("## One resync (the poll also makes its 1 head check)");
            line("| tokens | resync | calls | requests | time | calls by method |");
            line("|---|---|---|---|---|---|");
            resyncs.forEach(this::line);
        } finally {
            chain.close();
            line("");
            line("load average at end: %s; total benchmark time %.1f s", loadAverage(), (System.nanoTime() - started) / 1e9);
            Path out = Path.of("target", "follower-benchmark.txt");
            Files.createDirectories(out.getParent());
            Files.writeString(out, report);
        }
    }

    // --- bulk mint: automine off, raw transactions with increasing nonces, one block per MINTS_PER_BLOCK ---

    void bulkMint(int count) throws IOException {
        RpcClient rpc = chain.rpc;
        Credentials owner = Credentials.create(Anvil.PRIVATE_KEY_0);
        String from = owner.getAddress();
        long t0 = System.nanoTime();
        List<String> nodeIds = new ArrayList<>(count);
        List<String> keys = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            nodeIds.add(String.format(Locale.ROOT, "node-%05d", nodeCounter.incrementAndGet()));
            keys.add(WireGuardKey.generatePrivate().publicKey().toBase64());
        }
        BigInteger nonce = Numeric.decodeQuantity(rpc.call("eth_getTransactionCount", from, "pending").asText());
        BigInteger gas = Numeric.decodeQuantity(rpc.call("eth_estimateGas",
                Map.of("from", from, "to", chain.contract, "data", AccessContract.mintNodeAccess(Anvil.ACCOUNT_1, nodeIds.get(0), keys.get(0), "")))
                .asText());
        gas = gas.multiply(BigInteger.valueOf(3)).divide(BigInteger.TWO);
        BigInteger gasPrice = Numeric.decodeQuantity(rpc.call("eth_gasPrice").asText()).multiply(BigInteger.valueOf(4));
        long startBlock = AccessContract.hexLong(rpc.call("eth_blockNumber").asText());
        chain.anvil.rpc("evm_setAutomine", "[false]");
        long signNanos = 0;
        long sendNanos = 0;
        long mineNanos = 0;
        try {
            for (int from0 = 0; from0 < count; from0 += MINTS_PER_BLOCK) {
                int to0 = Math.min(count, from0 + MINTS_PER_BLOCK);
                long s = System.nanoTime();
                List<RpcCall> sends = new ArrayList<>(to0 - from0);
                for (int i = from0; i < to0; i++) {
                    RawTransaction tx = RawTransaction.createTransaction(nonce.add(BigInteger.valueOf(i)), gasPrice, gas, chain.contract,
                            BigInteger.ZERO, AccessContract.mintNodeAccess(Anvil.ACCOUNT_1, nodeIds.get(i), keys.get(i), ""));
                    sends.add(RpcCall.of("eth_sendRawTransaction",
                            Numeric.toHexString(TransactionEncoder.signMessage(tx, Anvil.BASE_CHAIN_ID, owner))));
                }
                long signed = System.nanoTime();
                signNanos += signed - s;
                List<RpcResult> results = rpc.batchResults(sends);
                for (RpcResult r : results) {
                    if (r.error() != null) {
                        throw new IllegalStateException("eth_sendRawTransaction failed: " + r.error());
                    }
                }
                long sent = System.nanoTime();
                sendNanos += sent - signed;
                chain.mine(1);
                mineNanos += System.nanoTime() - sent;
            }
            // Anything that did not fit is mined now.
            BigInteger want = nonce.add(BigInteger.valueOf(count));
            for (int extra = 0; Numeric.decodeQuantity(rpc.call("eth_getTransactionCount", from, "latest").asText()).compareTo(want) < 0; extra++) {
                assertThat(extra).as("blocks to drain the pool").isLessThan(1000);
                long s = System.nanoTime();
                chain.mine(1);
                mineNanos += System.nanoTime() - s;
            }
        } finally {
            chain.anvil.rpc("evm_setAutomine", "[true]");
        }
        long endBlock = AccessContract.hexLong(rpc.call("eth_blockNumber").asText());
        BigInteger supply = AccessContract.decodeUint(rpc.call("eth_call", Map.of("to", chain.contract, "data", "0x18160ddd"), "latest").asText());
        assertThat(supply.intValue()).as("totalSupply after the bulk mint").isEqualTo(nodeCounter.get());
        double total = (System.nanoTime() - t0) / 1e9;
        line("bulk mint of %,d tokens (to %,d): %.1f s = %.0f mints/s in %d blocks (sign %.1f s, eth_sendRawTransaction %.1f s, anvil_mine %.1f s)",
                count, nodeCounter.get(), total, count / total, endBlock - startBlock, signNanos / 1e9, sendNanos / 1e9, mineNanos / 1e9);
    }

    // --- 1. initial sync ---

    void initialSync() {
        int size = nodeCounter.get();
        line("");
        line("## Initial sync of %,d tokens from block 0 (fresh AccessRegistry each run; head is block %d)", size,
                AccessContract.hexLong(chain.rpc.call("eth_blockNumber").asText()));
        line("| run | wall time | polls | requests | calls | calls by method |");
        line("|---|---|---|---|---|---|");
        List<Double> times = new ArrayList<>();
        for (int run = 1; run <= SYNC_RUNS; run++) {
            Bench b = new Bench();
            long t0 = System.nanoTime();
            int polls = b.syncFully();
            double ms = (System.nanoTime() - t0) / 1e6;
            times.add(ms);
            assertThat(b.registry.size()).isEqualTo(size);
            Snapshot s = b.counter.snap();
            line("| %d | %.0f ms | %d | %d | %d | %s |", run, ms, polls, s.requests(), s.calls(), b.counter.methods());
        }
        // The same chain read in small ranges, as a follower would read a long chain (one eth_getLogs range per poll).
        FollowerConfig small = FollowerConfig.of(chain.contract, Anvil.BASE_CHAIN_ID, 0, Duration.ofSeconds(1), Duration.ofHours(1));
        small = new FollowerConfig(small.contractAddress(), small.expectedChainId(), 0, 5, 50, small.pollInterval(), small.resyncInterval(),
                small.batchSize(), small.reorgWindow());
        Bench b = new Bench(small);
        long t0 = System.nanoTime();
        int polls = b.syncFully();
        double ms = (System.nanoTime() - t0) / 1e6;
        assertThat(b.registry.size()).isEqualTo(size);
        Snapshot s = b.counter.snap();
        line("| ranges of 5 doubling to at most 50 blocks | %.0f ms | %d | %d | %d | %s |", ms, polls, s.requests(), s.calls(),
                b.counter.methods());
        line("initial sync median %.0f ms over %d runs (min %.0f, max %.0f)", median(times), times.size(), Collections.min(times),
                Collections.max(times));
    }

    // --- 2. steady state and resync ---

    String steadyState(Bench b) throws IOException {
        int size = b.registry.size();
        // Tokens minted in bulk are revoked here; the ones revoked in the latency part come from the other end.
        List<BigInteger> revocable = activeTokens(b.registry);
        Snapshot before = b.counter.snap();
        long startHead = b.follower.health().checkpoint();
        Map<String, long[]> methodsBefore = copy(b.counter.byMethod);
        List<Double> pollMs = new ArrayList<>();
        List<Double> mineMs = new ArrayList<>();
        int mints = 0;
        int revokes = 0;
        for (int i = 0; i < BLOCKS; i++) {
            if (i % 20 == 10) {
                String nodeId = String.format(Locale.ROOT, "node-%05d", nodeCounter.incrementAndGet());
                chain.owner.mint(chain.contract, Anvil.ACCOUNT_1, nodeId, WireGuardKey.generatePrivate().publicKey().toBase64(), "");
                mints++;
            } else if (i % 20 == 15 && revokes < revocable.size()) {
                chain.owner.revoke(chain.contract, revocable.get(revokes));
                revokes++;
            } else {
                long m = System.nanoTime();
                chain.mine(1);
                mineMs.add((System.nanoTime() - m) / 1e6);
            }
            long t0 = System.nanoTime();
            b.follower.poll();
            pollMs.add((System.nanoTime() - t0) / 1e6);
        }
        Snapshot d = b.counter.snap().minus(before);
        long advanced = b.follower.health().checkpoint() - startHead;
        assertThat(b.follower.health().error()).isNull();
        assertThat(b.registry.size()).isEqualTo(size + mints);
        for (int i = 0; i < revokes; i++) {
            assertThat(b.registry.get(revocable.get(i)).orElseThrow().active()).isFalse();
        }
        assertThat(b.resynced.get()).as("no resync inside the steady-state window").isEqualTo(-1);
        String methods = diff(b.counter.byMethod, methodsBefore);
        // An idle poll (no new block) for reference.
        Snapshot idleBefore = b.counter.snap();
        b.follower.poll();
        Snapshot idle = b.counter.snap().minus(idleBefore);
        line("steady state at %,d tokens: %d blocks (%d with a mint, %d with a revoke), checkpoint advanced %d, %d calls in %d requests"
                + " (%d failed); idle poll without a new block: %d calls; anvil_mine of an empty block p50 %.1f ms", size, BLOCKS, mints,
                revokes, advanced, d.calls(), d.requests(), d.failed(), idle.calls(), median(mineMs));
        return String.format(Locale.ROOT, "| %,d | %d | %.2f | %.2f | %.1f / %.1f ms | %s |", size, advanced, d.calls() / (double) advanced,
                d.requests() / (double) advanced, median(pollMs), p99(pollMs), methods);
    }

    /** Polls once every {@code perPoll} blocks: the follower takes its catch-up path (a range of blocks per poll). */
    String behind(Bench b, int perPoll) throws IOException {
        int size = b.registry.size();
        Map<String, long[]> methodsBefore = copy(b.counter.byMethod);
        Snapshot before = b.counter.snap();
        long startHead = b.follower.health().checkpoint();
        List<Double> pollMs = new ArrayList<>();
        int polls = Math.max(1, BLOCKS / perPoll / 2);
        for (int i = 0; i < polls; i++) {
            chain.mine(perPoll);
            long t0 = System.nanoTime();
            b.follower.poll();
            pollMs.add((System.nanoTime() - t0) / 1e6);
        }
        Snapshot d = b.counter.snap().minus(before);
        long advanced = b.follower.health().checkpoint() - startHead;
        assertThat(b.follower.health().error()).isNull();
        assertThat(advanced).isEqualTo((long) polls * perPoll);
        line("%d blocks per poll at %,d tokens: %d polls, %d calls in %d requests (%.2f calls per poll)", perPoll, size, polls, d.calls(),
                d.requests(), d.calls() / (double) polls);
        return String.format(Locale.ROOT, "| %,d, %d new blocks per poll | %d | %.2f | %.2f | %.1f / %.1f ms | %s |", size, perPoll, advanced,
                d.calls() / (double) advanced, d.requests() / (double) advanced, median(pollMs), p99(pollMs),
                diff(b.counter.byMethod, methodsBefore));
    }

    /** One poll with a resync due, which must read {@code reads} tokens. */
    String resync(Bench b, String kind, int reads) {
        int tokens = b.registry.size();
        Map<String, long[]> methodsBefore = copy(b.counter.byMethod);
        Snapshot before = b.counter.snap();
        b.clock.offset = b.clock.offset.plus(Duration.ofHours(2));
        long t0 = System.nanoTime();
        b.follower.poll();
        double ms = (System.nanoTime() - t0) / 1e6;
        Snapshot d = b.counter.snap().minus(before);
        assertThat(b.resynced.get()).as("the poll resynced, reading %s", kind).isEqualTo(reads);
        assertThat(b.follower.health().error()).isNull();
        b.resynced.set(-1);
        line("resync (%s) at %,d tokens: %d calls in %d requests, %.0f ms", kind, tokens, d.calls(), d.requests(), ms);
        return String.format(Locale.ROOT, "| %,d | %s | %d | %d | %.0f ms | %s |", tokens, kind, d.calls(), d.requests(), ms,
                diff(b.counter.byMethod, methodsBefore));
    }

    // --- 3. revocation latency with a real scheduled poll loop ---

    /**
     * Revokes SAMPLES tokens one by one while a scheduler polls the follower every {@code interval}. Each revoke is
     * signed here and sent with eth_sendRawTransaction; the benchmark thread then asks for the receipt every
     * millisecond, so "receipt visible" is when the block carrying the revoke could first be seen over RPC (to about
     * 1 ms). ContractWriter.revoke is not used for timing: its receipt poll sleeps 20, 40, 80 ms…, so it often
     * returns after the follower has already applied the revoke.
     */
    void revocationLatency(Bench b, Duration interval) throws Exception {
        List<BigInteger> active = activeTokens(b.registry);
        Collections.reverse(active); // newest first: the steady-state part revoked the oldest
        List<BigInteger> targets = new ArrayList<>(active.subList(0, SAMPLES));
        AtomicLong flippedAt = new AtomicLong();
        AtomicReference<BigInteger> target = new AtomicReference<>();
        AtomicReference<CountDownLatch> latch = new AtomicReference<>();
        b.registry.addListener(() -> {
            BigInteger t = target.get();
            if (t != null && flippedAt.get() == 0 && b.registry.get(t).map(r -> !r.active()).orElse(false)) {
                flippedAt.set(System.nanoTime());
                latch.get().countDown();
            }
        });
        RpcClient rpc = new RpcClient(List.of(chain.anvil.rpcUrl()), Duration.ofSeconds(3), 2, Duration.ofMillis(50),
                Duration.ofMillis(200), RpcListener.NONE);
        Credentials owner = Credentials.create(Anvil.PRIVATE_KEY_0);
        BigInteger gas = Numeric.decodeQuantity(rpc.call("eth_estimateGas",
                Map.of("from", owner.getAddress(), "to", chain.contract, "data", AccessContract.revokeNodeAccess(targets.get(0)))).asText());
        gas = gas.multiply(BigInteger.TWO);
        BigInteger gasPrice = Numeric.decodeQuantity(rpc.call("eth_gasPrice").asText()).multiply(BigInteger.TWO);

        Snapshot before = b.counter.snap();
        List<Double> fromReceipt = new ArrayList<>();
        List<Double> fromSend = new ArrayList<>();
        List<Double> mining = new ArrayList<>();
        int early = 0;
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "bench-follower");
            t.setDaemon(true);
            return t;
        });
        long loopStart = System.nanoTime();
        try {
            scheduler.scheduleWithFixedDelay(b.follower::poll, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
            for (BigInteger id : targets) {
                // A random pause so that revocations do not fall at the same phase of the poll loop.
                Thread.sleep(ThreadLocalRandom.current().nextLong(interval.toMillis(), 3 * interval.toMillis()));
                BigInteger nonce = Numeric.decodeQuantity(rpc.call("eth_getTransactionCount", owner.getAddress(), "pending").asText());
                String signed = Numeric.toHexString(TransactionEncoder.signMessage(RawTransaction.createTransaction(nonce, gasPrice, gas,
                        chain.contract, BigInteger.ZERO, AccessContract.revokeNodeAccess(id)), Anvil.BASE_CHAIN_ID, owner));
                flippedAt.set(0);
                latch.set(new CountDownLatch(1));
                target.set(id);
                String hash = rpc.call("eth_sendRawTransaction", signed).asText();
                long sent = System.nanoTime();
                JsonNode receipt;
                while ((receipt = rpc.call("eth_getTransactionReceipt", hash)) == null || receipt.isNull()) {
                    assertThat(System.nanoTime() - sent).as("receipt of the revoke of %s", id).isLessThan(30_000_000_000L);
                    Thread.sleep(1);
                }
                long visible = System.nanoTime();
                assertThat(receipt.path("status").asText()).isEqualTo("0x1");
                assertThat(latch.get().await(10, TimeUnit.SECONDS)).as("token %s seen revoked", id).isTrue();
                long flipped = flippedAt.get();
                target.set(null);
                if (flipped < visible) {
                    early++;
                }
                fromReceipt.add((flipped - visible) / 1e6);
                fromSend.add((flipped - sent) / 1e6);
                mining.add((visible - sent) / 1e6);
            }
        } finally {
            scheduler.shutdown();
            scheduler.awaitTermination(10, TimeUnit.SECONDS);
        }
        double seconds = (System.nanoTime() - loopStart) / 1e9;
        Snapshot d = b.counter.snap().minus(before);
        assertThat(b.follower.health().error()).isNull();
        line("");
        line("## Revocation latency at %,d tokens, follower polled every %d ms (scheduleWithFixedDelay, as the operator does), %d samples",
                b.registry.size(), interval.toMillis(), fromReceipt.size());
        line("| from | to | p50 | p99 | min | max |");
        line("|---|---|---|---|---|---|");
        line("| revoke's receipt first visible over RPC (1 ms receipt poll) | registry shows the token inactive | %.1f ms | %.1f ms"
                + " | %.1f ms | %.1f ms |", median(fromReceipt), p99(fromReceipt), Collections.min(fromReceipt), Collections.max(fromReceipt));
        line("| eth_sendRawTransaction returned | same | %.1f ms | %.1f ms | %.1f ms | %.1f ms |", median(fromSend), p99(fromSend),
                Collections.min(fromSend), Collections.max(fromSend));
        line("| eth_sendRawTransaction returned | receipt visible (anvil automine) | %.1f ms | %.1f ms | %.1f ms | %.1f ms |",
                median(mining), p99(mining), Collections.min(mining), Collections.max(mining));
        line("%d of %d samples were applied by the follower before the 1 ms receipt poll saw the receipt (negative values);"
                + " the follower sent %d requests (%.1f/s) in %.1f s", early, fromReceipt.size(), d.requests(), d.requests() / seconds, seconds);
    }

    // --- helpers ---

    static List<BigInteger> activeTokens(AccessRegistry registry) {
        List<BigInteger> ids = new ArrayList<>();
        for (TokenRecord t : registry.all()) {
            if (t.active()) {
                ids.add(t.tokenId());
            }
        }
        return ids;
    }

    static Map<String, long[]> copy(Map<String, long[]> m) {
        Map<String, long[]> c = new TreeMap<>();
        synchronized (m) {
            m.forEach((k, v) -> c.put(k, v.clone()));
        }
        return c;
    }

    static String diff(Map<String, long[]> now, Map<String, long[]> before) {
        StringBuilder b = new StringBuilder();
        copy(now).forEach((m, c) -> {
            long[] old = before.getOrDefault(m, new long[2]);
            if (c[1] - old[1] > 0) {
                b.append(b.isEmpty() ? "" : ", ").append(m).append(" ").append(c[1] - old[1]).append(" calls/").append(c[0] - old[0])
                        .append(" req");
            }
        });
        return b.toString();
    }

    static double median(List<Double> xs) {
        return percentile(xs, 50);
    }

    static double p99(List<Double> xs) {
        return percentile(xs, 99);
    }

    /** Nearest rank: with 30 samples p99 is the largest one. */
    static double percentile(List<Double> xs, double p) {
        List<Double> s = new ArrayList<>(xs);
        Collections.sort(s);
        int rank = (int) Math.ceil(p / 100.0 * s.size());
        return s.get(Math.max(0, Math.min(s.size() - 1, rank - 1)));
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }

    void line(String format, Object... args) {
        String s = args.length == 0 ? format : String.format(Locale.ROOT, format, args);
        System.out.println(s);
        System.out.flush();
        report.append(s).append('\n');
    }
}
