package io.dstack.vpn.operator.chain;

import java.util.List;

import io.dstack.vpn.api.v1alpha1.ChainAccess;

/** What a running chain source was built from: when any of it changes, the source is rebuilt. */
record ChainSourceKey(String namespace, String network, long chainId, String contract, long fromBlock, List<String> rpcUrls,
        String pollInterval, String resyncInterval) {

    static ChainSourceKey of(String namespace, String network, ChainAccess chain, List<String> rpcUrls) {
        return new ChainSourceKey(namespace, network, chain.chainId == null ? 8453 : chain.chainId, chain.contractAddress.toLowerCase(),
                chain.fromBlock == null ? 0 : chain.fromBlock, List.copyOf(rpcUrls),
                chain.pollInterval == null ? "2s" : chain.pollInterval, chain.resyncInterval == null ? "5m" : chain.resyncInterval);
    }
}
