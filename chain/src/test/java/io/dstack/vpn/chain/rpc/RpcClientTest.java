package io.dstack.vpn.chain.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpServer;

/**
 * RpcClient against tiny scripted HTTP servers on loopback: failover, rate limits, error classification,
 * batches, and that endpoint secrets never reach a message.
 */
class RpcClientTest {
    private final List<HttpServer> servers = new ArrayList<>();

    interface Script {
        /** Status and body for the n-th request (0-based). */
        Object[] reply(int n, String body);
    }

    String serve(Script script, AtomicInteger hits) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            Object[] reply = script.reply(hits.getAndIncrement(), body);
            byte[] bytes = ((String) reply[1]).getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders((Integer) reply[0], bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        });
        server.start();
        servers.add(server);
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v2/SECRET-API-KEY";
    }

    @AfterEach
    void stop() {
        servers.forEach(s -> s.stop(0));
    }

    static RpcClient client(List<String> urls, int attempts) {
        return new RpcClient(urls, Duration.ofSeconds(2), attempts, Duration.ofMillis(1), Duration.ofMillis(5), RpcListener.NONE);
    }

    static Object[] ok(String result) {
        return new Object[] {200, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":" + result + "}"};
    }

    @Test
    void failsOverFromARateLimitedEndpointAndSticksToTheGoodOne() throws IOException {
        AtomicInteger badHits = new AtomicInteger();
        AtomicInteger goodHits = new AtomicInteger();
        String bad = serve((n, b) -> new Object[] {429, "slow down"}, badHits);
        String good = serve((n, b) -> ok("\"0x2105\""), goodHits);
        RpcClient rpc = client(List.of(bad, good), 4);
        assertThat(rpc.call("eth_chainId").asText()).isEqualTo("0x2105");
        assertThat(rpc.call("eth_chainId").asText()).isEqualTo("0x2105");
        assertThat(badHits.get()).isEqualTo(1);
        assertThat(goodHits.get()).isEqualTo(2);
    }

    @Test
    void retriesJsonRpcRateLimitCodesThenSucceeds() throws IOException {
        AtomicInteger hits = new AtomicInteger();
        String url = serve((n, b) -> n < 2
                ? new Object[] {200, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32005,\"message\":\"limit exceeded\"}}"}
                : ok("\"0x10\""), hits);
        assertThat(client(List.of(url), 5).call("eth_blockNumber").asText()).isEqualTo("0x10");
        assertThat(hits.get()).isEqualTo(3);
    }

    @Test
    void revertIsNotRetried() throws IOException {
        AtomicInteger hits = new AtomicInteger();
        String url = serve((n, b) -> new Object[] {200,
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":3,\"message\":\"execution reverted: OwnableUnauthorizedAccount\"}}"}, hits);
        assertThatThrownBy(() -> client(List.of(url), 5).call("eth_estimateGas"))
                .isInstanceOf(RpcException.class)
                .satisfies(e -> assertThat(((RpcException) e).retryable()).isFalse())
                .hasMessageContaining("execution reverted");
        assertThat(hits.get()).isEqualTo(1);
    }

    @Test
    void givesUpAfterMaxAttemptsWithoutLeakingTheUrlPath() throws IOException {
        AtomicInteger hits = new AtomicInteger();
        String url = serve((n, b) -> new Object[] {503, "down"}, hits);
        assertThatThrownBy(() -> client(List.of(url), 3).call("eth_blockNumber"))
                .isInstanceOf(RpcException.class)
                .hasMessageContaining("after 3 attempts")
                .hasMessageContaining("HTTP 503")
                .hasMessageNotContaining("SECRET-API-KEY");
        assertThat(hits.get()).isEqualTo(3);
    }

    @Test
    void unreachableEndpointIsRetryableAndNamedByHostOnly() {
        RpcClient rpc = client(List.of("http://127.0.0.1:1/key/SECRET-API-KEY"), 2);
        assertThatThrownBy(() -> rpc.call("eth_blockNumber"))
                .isInstanceOf(RpcException.class)
                .hasMessageContaining("127.0.0.1:1")
                .hasMessageNotContaining("SECRET-API-KEY");
        assertThat(rpc.endpointNames()).containsExactly("http://127.0.0.1:1");
    }

    @Test
    void batchKeepsCallOrderAndIsolatesReverts() throws IOException {
        AtomicInteger hits = new AtomicInteger();
        // Replies out of order, the second call reverted.
        String url = serve((n, b) -> new Object[] {200, "[{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":\"0xc\"},"
                + "{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":\"0xa\"},"
                + "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":3,\"message\":\"execution reverted\"}}]"}, hits);
        List<RpcResult> results = client(List.of(url), 2).batchResults(List.of(
                RpcCall.of("eth_call"), RpcCall.of("eth_call"), RpcCall.of("eth_call")));
        assertThat(results.get(0).value().asText()).isEqualTo("0xa");
        assertThat(results.get(1).error()).isNotNull();
        assertThat(results.get(2).value().asText()).isEqualTo("0xc");
    }

    @Test
    void backoffGrowsAndStaysWithinTheCap() {
        RpcClient rpc = new RpcClient(List.of("http://127.0.0.1:1"), Duration.ofSeconds(1), 1, Duration.ofMillis(100),
                Duration.ofSeconds(2), RpcListener.NONE);
        for (int round = 0; round < 10; round++) {
            long cap = Math.min(2000, 100L << round);
            assertThat(rpc.backoff(round).toMillis()).isBetween(cap / 2, cap);
        }
    }
}
