package io.dstack.vpn.cli;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

import io.dstack.vpn.api.v1alpha1.ChainAccess;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;

/**
 * The chain settings a VpnNetwork in the cluster names. Anyone who may edit the object decides them, so read
 * commands may use them as a source and write commands only compare them with the admin's own.
 */
record VpnNetworkChain(String name, ChainAccess chain) {
    /** The CRD's default when a VpnNetwork leaves chainId out. */
    static final long DEFAULT_CHAIN_ID = 8453;

    static VpnNetworkChain load(DstackVpn root, String name) {
        VpnNetwork n = root.kube().resources(VpnNetwork.class).inNamespace(root.namespace()).withName(name).get();
        if (n == null) {
            throw new CliException(ExitCodes.NOT_FOUND, "VpnNetwork " + name + " not found in namespace " + root.namespace());
        }
        if (n.getSpec().access.chain == null) {
            throw new CliException(ExitCodes.CONFIG, "VpnNetwork " + name + " does not use the chain as its access source");
        }
        return new VpnNetworkChain(name, n.getSpec().access.chain);
    }

    String contract() {
        return chain.contractAddress;
    }

    long chainId() {
        return chain.chainId == null ? DEFAULT_CHAIN_ID : chain.chainId;
    }

    Long fromBlock() {
        return chain.fromBlock;
    }

    /** The RPC URLs, inline or from the Secret the network names (for URLs that embed an API key). */
    List<String> rpcUrls(DstackVpn root) {
        List<String> urls = new ArrayList<>();
        if (chain.rpcUrls != null) {
            urls.addAll(chain.rpcUrls);
        }
        if (urls.isEmpty() && chain.rpcUrlsSecretRef != null) {
            var secret = root.kube().secrets().inNamespace(root.namespace()).withName(chain.rpcUrlsSecretRef.name).get();
            String encoded = secret == null || secret.getData() == null ? null : secret.getData().get(chain.rpcUrlsSecretRef.key);
            if (encoded == null) {
                throw new CliException(ExitCodes.CONFIG, "Secret " + chain.rpcUrlsSecretRef.name + " has no key " + chain.rpcUrlsSecretRef.key);
            }
            Arrays.stream(new String(Base64.getDecoder().decode(encoded), StandardCharsets.UTF_8).split("[\\n,]"))
                    .map(String::strip).filter(u -> !u.isEmpty()).forEach(urls::add);
        }
        return urls;
    }
}
