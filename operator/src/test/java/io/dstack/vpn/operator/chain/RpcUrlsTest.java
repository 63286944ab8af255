package io.dstack.vpn.operator.chain;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.chain.rpc.RpcDestinations;

class RpcUrlsTest {
    private final RpcDestinations strict = RpcDestinations.denyInternal(List.of(), List.of());

    @Test
    void aPublicHttpsUrlIsFine() {
        assertThat(RpcUrls.problem("https://base-mainnet.example.com/v2/SECRET", strict)).isNull();
    }

    @Test
    void problemsNeverEchoThePathOrQuery() {
        assertThat(RpcUrls.problem("https://rpc example.com/v2/SECRET", strict)).isEqualTo("not a valid URL");
        assertThat(RpcUrls.problem("mailto:SECRET@example.com", strict)).doesNotContain("SECRET");
        assertThat(RpcUrls.problem("http://169.254.169.254/latest/SECRET?k=SECRET", strict))
                .startsWith("http://169.254.169.254 is not allowed").contains("link-local").doesNotContain("SECRET");
        assertThat(RpcUrls.problem("http://anvil.chain.svc.cluster.local:8545/SECRET", strict)).doesNotContain("SECRET").contains(".svc");
    }

    @Test
    void aWebSocketUrlIsJudgedAsItsHttpHandshake() {
        RpcDestinations allow = RpcDestinations.denyInternal(List.of("127.0.0.1/32"), List.of());
        assertThat(RpcUrls.problem("wss://base-mainnet.example.com/v2/SECRET", strict)).isNull();
        assertThat(RpcUrls.problem("ws://127.0.0.1:8545", allow)).isNull();
        assertThat(RpcUrls.problem("ws://127.0.0.1:8545/SECRET", strict)).contains("loopback").doesNotContain("SECRET");
        assertThat(RpcUrls.problem("wss://169.254.169.254/SECRET", strict)).startsWith("wss://169.254.169.254 is not allowed")
                .contains("link-local").doesNotContain("SECRET");
        assertThat(RpcUrls.problem("ftp://example.com/x", strict)).contains("not allowed");
    }

    @Test
    void theAllowListIsHonoured() {
        RpcDestinations allow = RpcDestinations.denyInternal(List.of("127.0.0.1/32"), List.of());
        assertThat(RpcUrls.problem("http://127.0.0.1:8545", allow)).isNull();
        assertThat(RpcUrls.problem("http://127.0.0.1:8545", strict)).contains("loopback");
    }
}
