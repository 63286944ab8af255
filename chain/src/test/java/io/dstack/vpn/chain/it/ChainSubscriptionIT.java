package io.dstack.vpn.chain.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.chain.contract.AccessContract;
import io.dstack.vpn.chain.contract.ContractWriter;
import io.dstack.vpn.chain.rpc.RpcDestinations;
import io.dstack.vpn.chain.subscription.ChainSubscription;
import io.dstack.vpn.chain.subscription.Head;
import io.dstack.vpn.chain.subscription.SubscriptionListener;
import io.dstack.vpn.chain.subscription.SubscriptionSettings;
import io.dstack.vpn.chain.subscription.SubscriptionState;
import io.dstack.vpn.testing.Anvil;

/**
 * ChainSubscription against a real anvil (WebSocket on the HTTP port): heads in order and linked, our contract's
 * logs, reconnecting after anvil restarts on the same port, and how fast heads arrive.
 */
class ChainSubscriptionIT {
    static final Duration BLOCK = Duration.ofMillis(200);
    static final Duration WAIT = Duration.ofSeconds(30);
    /** As the operator would run it: loopback denied unless allowed, as the tests' operator allows it. */
    static final SubscriptionSettings SETTINGS = SubscriptionSettings.defaults(RpcDestinations.denyInternal(List.of("127.0.0.1/32"), List.of()));

    /** Records calls with their arrival time. */
    static final class Recorder implements SubscriptionListener {
        final List<Head> heads = new CopyOnWriteArrayList<>();
        final Map<Long, Long> headNanos = new ConcurrentHashMap<>();
        final List<JsonNode> logs = new CopyOnWriteArrayList<>();
        final List<String> calls = new CopyOnWriteArrayList<>();
        final AtomicInteger connects = new AtomicInteger();
        volatile long connectedNanos;

        @Override
        public void connected() {
            connectedNanos = System.nanoTime();
            connects.incrementAndGet();
            calls.add("connected");
        }

        @Override
        public void head(Head head) {
            headNanos.put(head.number(), System.nanoTime());
            heads.add(head);
        }

        @Override
        public void log(JsonNode log) {
            logs.add(log);
        }

        @Override
        public void disconnected(String reason) {
            calls.add("disconnected " + reason);
        }

        int headsAfter(int index) {
            return heads.size() - index;
        }
    }

    /** A contract address for tests that need no contract: the logs subscription then simply stays quiet. */
    static final String NO_CONTRACT = "0x5fbdb2315678afecb367f032d93f642f64180aa3";

    static String wsUrl(Anvil anvil) {
        return "ws://127.0.0.1:" + anvil.port();
    }

    @Test
    void headsArriveInOrderLinkedByParentHashAndTheContractsLogsArrive() throws Exception {
        try (TestChain chain = new TestChain(Anvil.Options.defaults().withBlockTime(BLOCK))) {
            Recorder r = new Recorder();
            try (ChainSubscription sub = new ChainSubscription(wsUrl(chain.anvil), chain.contract, SETTINGS, r)) {
                sub.start();
                await().atMost(WAIT).until(() -> r.connects.get() == 1);

                String key = WireGuardKey.generatePrivate().publicKey().toBase64();
                ContractWriter.Receipt minted = chain.owner.mint(chain.contract, Anvil.ACCOUNT_1, "node-ws", key, "");
                ContractWriter.Receipt revoked = chain.owner.revoke(chain.contract, minted.mintedTokenId());
                await().atMost(WAIT).until(() -> r.logs.stream().anyMatch(l -> l.path("transactionHash").asText().equals(revoked.txHash())));
                List<String> topics = r.logs.stream().map(l -> l.path("topics").path(0).asText()).toList();
                assertThat(topics).contains(AccessContract.TOPIC_GRANTED, AccessContract.TOPIC_TRANSFER, AccessContract.TOPIC_REVOKED);
                assertThat(r.logs).allSatisfy(l -> assertThat(l.path("address").asText()).isEqualToIgnoringCase(chain.contract));
                assertThat(r.logs).filteredOn(l -> l.path("transactionHash").asText().equals(minted.txHash()))
                        .allSatisfy(l -> assertThat(l.path("blockNumber").asText()).isEqualTo("0x" + Long.toHexString(minted.block())));

                int start = r.heads.size();
                await().atMost(Duration.ofSeconds(60)).until(() -> r.headsAfter(start) >= 100);
                List<Head> heads = new ArrayList<>(r.heads);
                for (int i = 1; i < heads.size(); i++) {
                    assertThat(heads.get(i).number()).as("head %d follows %d", i, i - 1).isEqualTo(heads.get(i - 1).number() + 1);
                    assertThat(heads.get(i).parentHash()).as("parent of head %d", heads.get(i).number()).isEqualTo(heads.get(i - 1).hash());
                }
                List<Long> gaps = new ArrayList<>();
                for (int i = start + 1; i < heads.size(); i++) {
                    gaps.add((r.headNanos.get(heads.get(i).number()) - r.headNanos.get(heads.get(i - 1).number())) / 1_000);
                }
                System.out.printf("ChainSubscriptionIT: %d heads at --block-time 0.2, interval between notifications p50 %.1f ms, p99 %.1f ms, "
                        + "max %.1f ms%n", gaps.size() + 1, pct(gaps, 50) / 1e3, pct(gaps, 99) / 1e3, Collections.max(gaps) / 1e3);
                assertThat(sub.stats().rejected()).isZero();
                assertThat(sub.stats().reconnects()).isZero();
                assertThat(sub.state()).isEqualTo(SubscriptionState.LIVE);
            }
        }
    }

    /** Each block mined on request (anvil_mine over HTTP): from sending the request to the head notification. */
    @Test
    void aMinedBlocksHeadArrivesWithinMilliseconds() throws Exception {
        try (Anvil anvil = Anvil.start()) {
            Recorder r = new Recorder();
            try (ChainSubscription sub = new ChainSubscription(wsUrl(anvil), NO_CONTRACT, SETTINGS, r)) {
                sub.start();
                await().atMost(WAIT).until(() -> r.connects.get() == 1);
                List<Long> micros = new ArrayList<>();
                for (int i = 0; i < 110; i++) {
                    int before = r.heads.size();
                    long t0 = System.nanoTime();
                    anvil.rpc("anvil_mine", "[\"0x1\"]");
                    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(1)).until(() -> r.heads.size() > before);
                    Head h = r.heads.get(r.heads.size() - 1);
                    if (i >= 10) { // the first ones warm up the JIT
                        micros.add((r.headNanos.get(h.number()) - t0) / 1_000);
                    }
                }
                System.out.printf("ChainSubscriptionIT: mine request to head notification over %d blocks: p50 %.2f ms, p99 %.2f ms, max %.2f ms%n",
                        micros.size(), pct(micros, 50) / 1e3, pct(micros, 99) / 1e3, Collections.max(micros) / 1e3);
                assertThat(pct(micros, 50)).as("p50 in microseconds").isLessThan(100_000);
            }
        }
    }

    @Test
    void afterAnvilRestartsOnTheSamePortItReconnectsAndHeadsFlowAgain() throws Exception {
        Anvil.Options options = Anvil.Options.defaults().withBlockTime(BLOCK);
        Anvil anvil = Anvil.start(options);
        Recorder r = new Recorder();
        try (ChainSubscription sub = new ChainSubscription(wsUrl(anvil), NO_CONTRACT, SETTINGS, r)) {
            sub.start();
            await().atMost(WAIT).until(() -> r.connects.get() == 1 && r.heads.size() >= 3);

            long killed = System.nanoTime();
            anvil.kill();
            await().atMost(WAIT).until(() -> sub.state() != SubscriptionState.LIVE);
            long noticed = System.nanoTime();
            Thread.sleep(1000); // down for a while: a few failed attempts, the backoff grows
            int failures = sub.consecutiveFailures();
            long restarting = System.nanoTime();
            anvil = Anvil.start(options.withPort(anvil.port()));
            long ready = System.nanoTime();
            int headsBefore = r.heads.size();
            await().atMost(WAIT).until(() -> r.connects.get() == 2);
            long reconnected = r.connectedNanos;
            await().atMost(WAIT).until(() -> r.headsAfter(headsBefore) >= 5);
            long headAgain = r.headNanos.get(r.heads.get(headsBefore).number());

            assertThat(r.calls.get(0)).isEqualTo("connected");
            assertThat(r.calls.get(1)).startsWith("disconnected ws://127.0.0.1:" + anvil.port());
            assertThat(r.calls).last().isEqualTo("connected");
            assertThat(sub.stats().connects()).isEqualTo(2);
            assertThat(sub.stats().reconnects()).isGreaterThanOrEqualTo(1);
            assertThat(sub.consecutiveFailures()).isZero();
            List<Head> after = r.heads.subList(headsBefore, r.heads.size());
            for (int i = 1; i < after.size(); i++) {
                assertThat(after.get(i).parentHash()).isEqualTo(after.get(i - 1).hash());
            }
            System.out.printf("ChainSubscriptionIT: restart: loss noticed %.1f ms after the kill; %d failed attempts while down;"
                    + " anvil took %.0f ms to start; connected() %.1f ms after anvil answered, first new head %.1f ms after it"
                    + " (%.1f ms after the kill, 1 s of which anvil was kept down)%n",
                    (noticed - killed) / 1e6, failures, (ready - restarting) / 1e6, (reconnected - ready) / 1e6, (headAgain - ready) / 1e6,
                    (headAgain - killed) / 1e6);
        } finally {
            anvil.close();
        }
    }

    static long pct(List<Long> values, int p) {
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
    }
}
