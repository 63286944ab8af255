package io.dstack.vpn.chain.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.dstack.vpn.testing.HostileRpcServer;
import io.dstack.vpn.testing.HostileRpcServer.Hostility;

/**
 * The transport against {@link HostileRpcServer}: each hostile answer ends in a bounded, clean RpcException.
 * The preemptive timeouts only detect a hang (what each case did before the fix); they measure nothing.
 */
class HostileEndpointTest {
    static final Duration HANG = Duration.ofSeconds(30);
    final HostileRpcServer server;

    HostileEndpointTest() throws Exception {
        server = HostileRpcServer.start(8453, "0x5fbdb2315678afecb367f032d93f642f64180aa3", 10);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    RpcClient client(RpcLimits limits) {
        return new RpcClient(List.of(server.url()), limits, 1, Duration.ofMillis(1), Duration.ofMillis(1), RpcListener.NONE);
    }

    @Test
    void aTrickledBodyEndsAtTheDeadlineOfTheWholeRequest() {
        server.hostility(Hostility.SLOW_BODY);
        RpcClient rpc = client(RpcLimits.of(Duration.ofMillis(800)));
        // Before: the HttpClient timeout covered the headers only, and this call never returned.
        RpcException e = assertTimeoutPreemptively(HANG, () -> catchRpc(() -> rpc.call("eth_chainId")));
        assertThat(e.getMessage()).contains("no complete reply within 800 ms");
        assertThat(e.retryable()).isTrue();
    }

    @Test
    void aHundredMegabyteBodyIsCutAtTheCap() {
        server.hostility(Hostility.HUGE_BODY);
        RpcClient rpc = client(RpcLimits.of(Duration.ofSeconds(20)).withMaxBodyBytes(1 << 20));
        // Before: all 100 MB were buffered (and parsed) as the answer.
        RpcException e = assertTimeoutPreemptively(HANG, () -> catchRpc(() -> rpc.call("eth_chainId")));
        assertThat(e.getMessage()).contains("exceeds the limit of 1048576 bytes");
        assertThat(e.retryable()).isTrue();
    }

    @Test
    void aHugeErrorMessageIsCutCleanedAndLosesItsCredentials() {
        server.hostility(Hostility.HUGE_ERROR);
        RpcException e = catchRpc(() -> client(RpcLimits.of(Duration.ofSeconds(5))).call("eth_chainId"));
        assertThat(e.getMessage()).hasSizeLessThan(400).doesNotContain(HostileRpcServer.ERROR_SECRET).doesNotContain("HOSTILE-SECRET-PATH")
                .doesNotContain("\n").doesNotContain("\u001b").doesNotContain("\u0000").contains("boom");
    }

    @Test
    void aLoopbackEndpointIsNotContactedUnlessAllowed() {
        RpcClient denied = client(RpcLimits.of(Duration.ofSeconds(5)).withDestinations(RpcDestinations.denyInternal(List.of(), List.of())));
        RpcException e = catchRpc(() -> denied.call("eth_chainId"));
        assertThat(e.getMessage()).contains("destination not allowed").contains("loopback").doesNotContain("HOSTILE-SECRET-PATH");
        assertThat(server.calls("eth_chainId")).isZero();

        RpcClient allowed = client(RpcLimits.of(Duration.ofSeconds(5))
                .withDestinations(RpcDestinations.denyInternal(List.of("127.0.0.1/32"), List.of())));
        assertThat(allowed.call("eth_chainId").asText()).isEqualTo("0x2105");
        assertThat(server.calls("eth_chainId")).isEqualTo(1);
    }

    static RpcException catchRpc(Runnable call) {
        try {
            call.run();
        } catch (RpcException e) {
            return e;
        }
        throw new AssertionError("the call succeeded");
    }
}
