package io.dstack.vpn.operator.chain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.v1alpha1.ChainAccess;
import io.dstack.vpn.api.v1alpha1.SecretKeyRef;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;

class RpcUrlListTest {

    static ChainAccess chain(List<String> urls, boolean secretRef) {
        ChainAccess c = new ChainAccess();
        c.rpcUrls = urls;
        if (secretRef) {
            c.rpcUrlsSecretRef = new SecretKeyRef();
            c.rpcUrlsSecretRef.name = "base-rpc";
            c.rpcUrlsSecretRef.key = "urls";
        }
        return c;
    }

    static Secret secret(String urls, boolean optedIn) {
        return new SecretBuilder().withNewMetadata().withName("base-rpc")
                .withLabels(optedIn ? Map.of(VpnLabels.RPC_URLS_SECRET, "true") : Map.of("app", "other")).endMetadata()
                .withData(Map.of("urls", Base64.getEncoder().encodeToString(urls.getBytes(StandardCharsets.UTF_8)))).build();
    }

    @Test
    void urlsFromSpecAndOptedInSecretComeWithTheirSource() {
        var entries = RpcUrlList.of(chain(List.of(" https://a.example "), true), secret("https://b.example/KEY1\nhttps://c.example/KEY2,", true));
        assertThat(entries).extracting(RpcUrlList.Entry::url).containsExactly("https://a.example", "https://b.example/KEY1", "https://c.example/KEY2");
        assertThat(entries).extracting(RpcUrlList.Entry::source).containsExactly("spec.access.chain.rpcUrls[0]",
                "URL #1 in key urls of Secret base-rpc", "URL #2 in key urls of Secret base-rpc");
    }

    @Test
    void aSecretThatIsNotOptedInIsNotUsedAndNotQuoted() {
        // Any Secret of the namespace could be named; without the label the operator refuses to use its value.
        assertThatThrownBy(() -> RpcUrlList.of(chain(null, true), secret("https://b.example/KEY1", false)))
                .hasMessageContaining("not labelled " + VpnLabels.RPC_URLS_SECRET + "=true").hasMessageNotContaining("KEY1");
    }

    @Test
    void missingSecretKeyOrUrlsAreNamed() {
        assertThatThrownBy(() -> RpcUrlList.of(chain(null, true), null)).hasMessage("Secret base-rpc has no key urls");
        assertThatThrownBy(() -> RpcUrlList.of(chain(List.of(), false), null)).hasMessage("no RPC URL configured");
    }
}
