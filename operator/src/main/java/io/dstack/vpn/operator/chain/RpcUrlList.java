package io.dstack.vpn.operator.chain;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.v1alpha1.ChainAccess;
import io.fabric8.kubernetes.api.model.Secret;

/**
 * A network's RPC URLs from its spec and its Secret, each with where it came from, for messages that must not
 * quote the URL (it may hold an API key). The Secret must be opted in with {@link VpnLabels#RPC_URLS_SECRET}.
 */
final class RpcUrlList {
    record Entry(String url, String source) {
    }

    /**
     * @param secret the Secret named by {@code rpcUrlsSecretRef} as read, or null (none named, or not found)
     * @throws IllegalArgumentException with a message fit for status
     */
    static List<Entry> of(ChainAccess chain, Secret secret) {
        List<Entry> entries = new ArrayList<>();
        if (chain.rpcUrls != null) {
            for (int i = 0; i < chain.rpcUrls.size(); i++) {
                entries.add(new Entry(chain.rpcUrls.get(i).strip(), "spec.access.chain.rpcUrls[" + i + "]"));
            }
        }
        if (chain.rpcUrlsSecretRef != null) {
            String name = chain.rpcUrlsSecretRef.name;
            String key = chain.rpcUrlsSecretRef.key;
            Map<String, String> data = secret == null ? null : secret.getData();
            if (data == null || data.get(key) == null) {
                throw new IllegalArgumentException("Secret " + name + " has no key " + key);
            }
            Map<String, String> labels = secret.getMetadata() == null ? null : secret.getMetadata().getLabels();
            if (labels == null || !"true".equals(labels.get(VpnLabels.RPC_URLS_SECRET))) {
                throw new IllegalArgumentException("Secret " + name + " is not labelled " + VpnLabels.RPC_URLS_SECRET
                        + "=true: the operator reads only Secrets opted in for RPC URLs (docs/security.md)");
            }
            String text;
            try {
                text = new String(Base64.getDecoder().decode(data.get(key)), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("key " + key + " of Secret " + name + " is not base64");
            }
            List<String> urls = Arrays.stream(text.split("[\\n,]")).map(String::strip).filter(s -> !s.isEmpty()).toList();
            for (int i = 0; i < urls.size(); i++) {
                entries.add(new Entry(urls.get(i), "URL #" + (i + 1) + " in key " + key + " of Secret " + name));
            }
        }
        if (entries.isEmpty()) {
            throw new IllegalArgumentException("no RPC URL configured");
        }
        return entries;
    }

    private RpcUrlList() {
    }
}
