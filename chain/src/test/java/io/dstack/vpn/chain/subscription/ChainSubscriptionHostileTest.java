package io.dstack.vpn.chain.subscription;

import static io.dstack.vpn.chain.subscription.Fixtures.CONTRACT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.dstack.vpn.chain.rpc.RpcDestinations;
import io.dstack.vpn.testing.HostileWebSocketServer;
import io.dstack.vpn.testing.HostileWebSocketServer.Peer;

/** ChainSubscription against a WebSocket server that misbehaves on purpose. */
class ChainSubscriptionHostileTest {
    static final Duration WAIT = Duration.ofSeconds(10);
    static final SubscriptionSettings FAST = SubscriptionSettings.defaults(RpcDestinations.permitAll())
            .withSubscribeDeadline(Duration.ofSeconds(1))
            .withIdleTimeout(Duration.ofSeconds(1))
            .withMaxMessageChars(64 * 1024)
            .withBackoff(Duration.ofMillis(20), Duration.ofMillis(200))
            .withFailuresBeforeFallback(2);

    HostileWebSocketServer server;
    RecordingListener listener = new RecordingListener();
    ChainSubscription subscription;

    @BeforeEach
    void startServer() throws Exception {
        server = HostileWebSocketServer.start();
    }

    @AfterEach
    void stop() throws Exception {
        if (subscription != null) {
            subscription.close();
        }
        server.close();
    }

    ChainSubscription subscribe(SubscriptionSettings settings) {
        subscription = new ChainSubscription(server.url(), CONTRACT, settings, listener);
        subscription.start();
        return subscription;
    }

    /** The n-th connection once connected() was called for it. */
    Peer live(int n) throws Exception {
        Peer p = server.awaitPeer(n, WAIT);
        assertThat(p.awaitSubscribed(WAIT)).isTrue();
        await().atMost(WAIT).until(() -> listener.connects.get() > n);
        return p;
    }

    @Test
    void subscribesToHeadsAndTheContractsLogsAndDeliversBoth() throws Exception {
        subscribe(FAST);
        Peer p = live(0);
        assertThat(p.received()).hasSize(2);
        assertThat(p.received().get(0)).contains("\"eth_subscribe\"", "\"newHeads\"");
        assertThat(p.received().get(1)).contains("\"logs\"", CONTRACT, io.dstack.vpn.chain.contract.AccessContract.TOPIC_GRANTED,
                io.dstack.vpn.chain.contract.AccessContract.TOPIC_PUBLIC_KEY_UPDATED);
        assertThat(subscription.state()).isEqualTo(SubscriptionState.LIVE);

        p.notify(p.subscription("newHeads"), Fixtures.head(5));
        p.notify(p.subscription("logs"), Fixtures.log(5, true));
        // A head split into 9-byte frames is one message.
        String fragmented = "{\"jsonrpc\":\"2.0\",\"method\":\"eth_subscription\",\"params\":{\"subscription\":\"" + p.subscription("newHeads")
                + "\",\"result\":" + Fixtures.head(6) + "}}";
        p.sendFragmented(fragmented, 9);

        await().atMost(WAIT).until(() -> listener.heads.size() == 2 && listener.logs.size() == 1);
        assertThat(listener.calls).containsExactly("connected", "head 5", "log", "head 6");
        assertThat(listener.heads.get(0)).isEqualTo(new Head(5, Fixtures.hash(5), Fixtures.hash(4), 0x6650a0b5L));
        assertThat(listener.logs.get(0).path("removed").asBoolean()).as("removed logs are passed on as received").isTrue();
        assertThat(listener.threads).singleElement().asString().startsWith("chain-subscription-");
        assertThat(listener.overlapped).isFalse();
        SubscriptionStats s = subscription.stats();
        assertThat(s.connects()).isEqualTo(1);
        assertThat(s.notifications()).isEqualTo(3);
        assertThat(s.rejected()).isZero();
        assertThat(s.reconnects()).isZero();
    }

    @Test
    void anOversizedMessageDropsTheConnectionBeforeItIsReadWhole() throws Exception {
        subscribe(FAST);
        Peer p = live(0);
        long announced = 512L << 20;
        long written = p.sendOversized(announced);
        assertThat(written).as("the client stopped reading a 512 MiB message").isLessThan(announced);
        live(1);
        assertThat(subscription.stats().lastProblem()).contains("longer than 65536");
        assertThat(listener.disconnects).hasSize(1);
    }

    @Test
    void theSizeCapCountsAllFragmentsOfAMessage() throws Exception {
        subscribe(FAST);
        Peer p = live(0);
        // 80 KiB in 4 KiB frames: each frame is small, the message is not.
        p.sendFragmented("\"" + "a".repeat(80 * 1024) + "\"", 4096);
        Peer second = live(1);
        assertThat(p.awaitEnded(WAIT)).isTrue();
        assertThat(subscription.stats().lastProblem()).contains("longer than 65536");
        // Below the cap, the same kind of message passes (and is rejected as not a notification, not fatal).
        second.sendFragmented("\"" + "a".repeat(60 * 1024) + "\"", 4096);
        await().atMost(WAIT).until(() -> subscription.stats().rejected() == 1);
        assertThat(server.connections()).isEqualTo(2);
    }

    @Test
    void noAnswerToTheSubscriptionsMeansRetryAfterTheDeadline() throws Exception {
        server.answerSubscribe(false);
        subscribe(FAST);
        Peer first = server.awaitPeer(0, WAIT);
        long started = System.nanoTime();
        assertThat(first.awaitEnded(WAIT)).isTrue();
        long heldMillis = (System.nanoTime() - started) / 1_000_000;
        assertThat(heldMillis).as("dropped at the 1 s deadline").isBetween(700L, 3000L);
        server.awaitPeer(1, WAIT);
        await().atMost(WAIT).until(() -> subscription.fallbackAdvised());
        assertThat(subscription.consecutiveFailures()).isGreaterThanOrEqualTo(2);
        assertThat(listener.connects.get()).isZero();
        assertThat(listener.disconnects).isNotEmpty().allSatisfy(r -> assertThat(r).contains("no confirmed subscriptions within 1000 ms"));
        assertThat(subscription.state()).isNotEqualTo(SubscriptionState.LIVE);
    }

    @Test
    void aSilentServerIsDroppedAfterTheIdleTimeout() throws Exception {
        server.answerPings(false);
        subscribe(FAST);
        Peer p = live(0);
        long connected = System.nanoTime();
        assertThat(p.awaitEnded(WAIT)).isTrue();
        long afterMillis = (System.nanoTime() - connected) / 1_000_000;
        // The client's idle clock starts at its last message, a little before the test sees the connection live (899 ms
        // was measured once in CI): the reason below says it was the idle timeout; the bounds only rule out "at once" and "never".
        assertThat(afterMillis).as("idle timeout 1 s").isBetween(500L, 3000L);
        live(1);
        assertThat(listener.disconnects.get(0)).contains("no message for 1000 ms");
    }

    @Test
    void aQuietServerThatAnswersPingsIsKept() throws Exception {
        subscribe(FAST);
        Peer p = live(0);
        Thread.sleep(3000); // three idle timeouts without a message: only the pongs keep it
        assertThat(p.ended()).isFalse();
        assertThat(server.connections()).isEqualTo(1);
        assertThat(subscription.state()).isEqualTo(SubscriptionState.LIVE);
    }

    @Test
    void malformedMessagesAreCountedAndLaterHeadsStillArrive() throws Exception {
        subscribe(FAST);
        Peer p = live(0);
        String heads = p.subscription("newHeads");
        String logs = p.subscription("logs");
        p.notify(heads, Fixtures.head(7).replace("\"0x7\"", "\"0x07\"")); // leading zero
        p.notify(heads, Fixtures.head(8).replace(Fixtures.hash(7), "0x1234")); // short parent hash
        p.notify(heads, "\"not a head\"");
        p.notify(heads, Fixtures.head(9).replace("\"timestamp\":\"0x6650a0b9\"", "\"timestamp\":12")); // not hex text
        p.notify(logs, Fixtures.log(9, false).replace(CONTRACT, "0x000000000000000000000000000000000000dead"));
        p.notify(logs, Fixtures.log(9, false).replace(io.dstack.vpn.chain.contract.AccessContract.TOPIC_REVOKED, Fixtures.hash(1)));
        p.sendText("{{{ not json");
        p.sendText("[1,2,3]");
        p.sendText("{\"jsonrpc\":\"2.0\",\"id\":99,\"result\":\"0x1\"}"); // an answer to nothing we asked
        p.sendFrame(0x2, true, "binary".getBytes(StandardCharsets.US_ASCII));
        p.notify(heads, Fixtures.head(10));

        await().atMost(WAIT).until(() -> listener.heads.size() == 1);
        assertThat(listener.heads.get(0).number()).isEqualTo(10);
        assertThat(listener.logs).isEmpty();
        SubscriptionStats s = subscription.stats();
        assertThat(s.rejected()).isEqualTo(10);
        assertThat(s.notifications()).isEqualTo(1);
        assertThat(server.connections()).as("malformed input is not a reason to reconnect").isEqualTo(1);
        assertThat(listener.disconnects).isEmpty();
    }

    @Test
    void notificationsOfUnknownSubscriptionsAreIgnored() throws Exception {
        subscribe(FAST);
        Peer p = live(0);
        p.notify("0xdeadbeef", Fixtures.head(3));
        p.notify(p.subscription("newHeads"), Fixtures.head(4));
        await().atMost(WAIT).until(() -> listener.heads.size() == 1);
        assertThat(listener.heads.get(0).number()).isEqualTo(4);
        assertThat(subscription.stats().ignored()).isEqualTo(1);
        assertThat(subscription.stats().rejected()).isZero();
    }

    @Test
    void theUrlsSecretNeverShows() throws Exception {
        server.answerSubscribe(false);
        subscribe(FAST);
        List<String> shown = new ArrayList<>();
        // The server quotes the URL back in an error answer, then in a close reason.
        Peer first = server.awaitPeer(0, WAIT);
        assertThat(first.requestLine()).as("the secret did reach the server").contains(HostileWebSocketServer.SECRET);
        first.sendText("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32000,\"message\":\"bad key in " + server.url()
                + " and /v3/" + HostileWebSocketServer.SECRET + "\"}}");
        Peer second = server.awaitPeer(1, WAIT);
        byte[] reason = ("/v3/" + HostileWebSocketServer.SECRET).getBytes(StandardCharsets.US_ASCII);
        byte[] close = new byte[reason.length + 2];
        close[0] = 0x03;
        close[1] = (byte) 0xe8; // 1000
        System.arraycopy(reason, 0, close, 2, reason.length);
        second.sendFrame(0x8, true, close);
        server.awaitPeer(2, WAIT);
        await().atMost(WAIT).until(() -> listener.disconnects.size() >= 2);

        shown.addAll(listener.disconnects);
        shown.add(subscription.stats().toString());
        shown.add(subscription.displayName());
        assertThat(String.join("\n", shown)).doesNotContain(HostileWebSocketServer.SECRET).doesNotContain("apikey");
        assertThat(listener.disconnects.get(0)).contains("ws://127.0.0.1:" + server.port(), "eth_subscribe newHeads refused", "bad key");
        assertThat(listener.disconnects.get(1)).contains("the server closed the connection (1000");
    }

    @Test
    void aDestinationThePolicyDeniesIsNeverConnectedTo() throws Exception {
        SubscriptionSettings denying = FAST.withDestinations(RpcDestinations.denyInternal(List.of(), List.of()));
        assertThatThrownBy(() -> new ChainSubscription(server.url(), CONTRACT, denying, listener))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ws://127.0.0.1:" + server.port() + ": destination not allowed")
                .hasMessageContaining("loopback")
                .hasMessageNotContaining(HostileWebSocketServer.SECRET);
        assertThatThrownBy(() -> new ChainSubscription("wss://10.1.2.3/key/" + HostileWebSocketServer.SECRET, CONTRACT, denying, listener))
                .hasMessageContaining("private").hasMessageNotContaining(HostileWebSocketServer.SECRET);
        assertThatThrownBy(() -> new ChainSubscription("ws://metadata.google.internal/x", CONTRACT, denying, listener))
                .hasMessageContaining(".internal");
        assertThatThrownBy(() -> new ChainSubscription("http://rpc.example.com/" + HostileWebSocketServer.SECRET, CONTRACT, FAST, listener))
                .hasMessageContaining("only ws and wss").hasMessageNotContaining(HostileWebSocketServer.SECRET);
        // Allowed explicitly, the same address is fine.
        SubscriptionSettings allowing = FAST.withDestinations(RpcDestinations.denyInternal(List.of("127.0.0.1/32"), List.of()));
        Thread.sleep(200);
        assertThat(server.connections()).isZero();
        subscribe(allowing);
        live(0);
    }

    @Test
    void aServerThatHangsUpIsReconnectedAndSubscribedAgain() throws Exception {
        subscribe(FAST);
        Peer first = live(0);
        first.notify(first.subscription("newHeads"), Fixtures.head(1));
        await().atMost(WAIT).until(() -> listener.heads.size() == 1);
        first.close();
        Peer second = live(1);
        assertThat(second.received()).hasSize(2).allSatisfy(m -> assertThat(m).contains("eth_subscribe"));
        second.notify(second.subscription("newHeads"), Fixtures.head(2));
        second.notify(first.subscription("newHeads"), Fixtures.head(3)); // the old connection's id means nothing now
        await().atMost(WAIT).until(() -> listener.heads.size() == 2);
        assertThat(listener.calls).containsExactly("connected", "head 1", "disconnected", "connected", "head 2");
        assertThat(subscription.stats().reconnects()).isEqualTo(1);
        assertThat(subscription.stats().connects()).isEqualTo(2);
        assertThat(subscription.consecutiveFailures()).isZero();
    }

    @Test
    void aThrowingListenerDoesNotStopDelivery() throws Exception {
        List<Long> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        SubscriptionListener throwing = new SubscriptionListener() {
            @Override
            public void connected() {
                throw new IllegalStateException("boom");
            }

            @Override
            public void head(Head head) {
                seen.add(head.number());
                throw new IllegalStateException("boom");
            }

            @Override
            public void log(com.fasterxml.jackson.databind.JsonNode log) {
            }

            @Override
            public void disconnected(String reason) {
            }
        };
        subscription = new ChainSubscription(server.url(), CONTRACT, FAST, throwing);
        subscription.start();
        Peer p = server.awaitPeer(0, WAIT);
        assertThat(p.awaitSubscribed(WAIT)).isTrue();
        await().atMost(WAIT).until(() -> subscription.state() == SubscriptionState.LIVE);
        p.notify(p.subscription("newHeads"), Fixtures.head(1));
        p.notify(p.subscription("newHeads"), Fixtures.head(2));
        await().atMost(WAIT).until(() -> seen.size() == 2);
        assertThat(server.connections()).isEqualTo(1);
    }

    @Test
    void closeEndsEveryThreadItStarted() throws Exception {
        Set<Thread> before = Set.copyOf(Thread.getAllStackTraces().keySet());
        subscribe(FAST);
        Peer p = live(0);
        p.notify(p.subscription("newHeads"), Fixtures.head(1));
        await().atMost(WAIT).until(() -> listener.heads.size() == 1);
        assertThat(started(before)).as("threads while running").isNotEmpty();
        subscription.close();
        assertThat(started(before)).as("threads left after close()").isEmpty();
        assertThat(subscription.state()).isEqualTo(SubscriptionState.DOWN);
        assertThat(p.awaitEnded(WAIT)).as("the connection is dropped").isTrue();
        Thread.sleep(200);
        assertThat(listener.calls).as("no listener call on close()").containsExactly("connected", "head 1");
    }

    @Test
    void closeDuringABackoffDoesNotWaitForTheRetry() throws Exception {
        server.close(); // nothing listens: every attempt fails
        SubscriptionSettings slow = FAST.withBackoff(Duration.ofSeconds(20), Duration.ofSeconds(30));
        Set<Thread> before = Set.copyOf(Thread.getAllStackTraces().keySet());
        subscribe(slow);
        await().atMost(WAIT).until(() -> subscription.consecutiveFailures() >= 1);
        long t0 = System.nanoTime();
        subscription.close();
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(3000);
        assertThat(started(before)).isEmpty();
        assertThat(listener.disconnects.get(0)).contains("cannot connect");
    }

    /** Live threads that did not exist before, other than the test server's own. */
    static Set<String> started(Set<Thread> before) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && !before.contains(t) && !t.getName().startsWith("hostile-ws"))
                .map(Thread::getName).collect(Collectors.toSet());
    }
}
