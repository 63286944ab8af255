package io.dstack.vpn.chain.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** SSRF: by default the operator may not POST to its own neighbourhood; the allow list opens exactly what it names. */
class RpcDestinationsTest {
    private final RpcDestinations strict = RpcDestinations.denyInternal(List.of(), List.of());

    @ParameterizedTest
    @ValueSource(strings = {"http://127.0.0.1:8545", "http://localhost:8545", "http://LOCALHOST./x", "http://[::1]:8545",
            "http://169.254.169.254/latest/meta-data/", "http://metadata.google.internal/computeMetadata/v1/",
            "http://10.96.0.1:443", "http://172.18.0.1:8545", "http://192.168.1.10", "http://100.64.0.5", "http://[fd00::1]",
            "http://[fe80::1]", "http://[::ffff:10.0.0.1]", "http://0.0.0.0:8545", "http://2130706433:8545",
            "http://kubernetes/", "http://anvil.chain.svc:8545", "http://anvil.chain.svc.cluster.local:8545",
            "http://node.local:8545", "file:///etc/passwd", "gopher://example.com/", "ftp://rpc.example.com"})
    void internalOrNonHttpDestinationsAreDenied(String url) {
        assertThat(strict.problem(URI.create(url))).as(url).isNotNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"https://mainnet.base.org", "https://8.8.8.8:443/v2/KEY", "http://[2001:4860:4860::8888]:8545"})
    void publicDestinationsAreAllowed(String url) {
        assertThat(strict.problem(URI.create(url))).as(url).isNull();
    }

    @Test
    void theAllowListOpensCidrsNamesAndSuffixes() {
        RpcDestinations allow = RpcDestinations.denyInternal(List.of("127.0.0.1/32", "172.16.0.0/12", "anvil.chain.svc", "*.rpc.svc"),
                List.of());
        assertThat(allow.problem(URI.create("http://127.0.0.1:8545"))).isNull();
        assertThat(allow.problem(URI.create("http://172.18.0.1:8545"))).isNull();
        assertThat(allow.problem(URI.create("http://anvil.chain.svc:8545"))).isNull();
        assertThat(allow.problem(URI.create("http://geth.rpc.svc:8545"))).isNull();
        assertThat(allow.problem(URI.create("http://127.0.0.2:8545"))).isNotNull();
        assertThat(allow.problem(URI.create("http://169.254.169.254/"))).isNotNull();
        assertThat(allow.problem(URI.create("http://other.chain.svc:8545"))).isNotNull();
    }

    @Test
    void extraDeniedRangesCoverPublicClusterRanges() {
        RpcDestinations d = RpcDestinations.denyInternal(List.of(), List.of("34.118.224.0/20"));
        assertThat(d.problem(URI.create("http://34.118.230.4:8545"))).contains("cluster range");
    }

    @Test
    void aBadAllowListEntryIsRefusedWithItsName() {
        assertThatThrownBy(() -> RpcDestinations.denyInternal(List.of("10.0.0.0/99"), List.of())).hasMessageContaining("10.0.0.0/99");
        assertThatThrownBy(() -> RpcDestinations.denyInternal(List.of("http://x"), List.of())).hasMessageContaining("http://x");
    }

    @Test
    void permitAllAllowsLoopbackButStillOnlyHttp() {
        assertThat(RpcDestinations.permitAll().problem(URI.create("http://127.0.0.1:8545"))).isNull();
        assertThat(RpcDestinations.permitAll().problem(URI.create("file:///etc/passwd"))).isNotNull();
    }
}
