package io.dstack.vpn.cli;

import java.util.ArrayList;
import java.util.List;

import picocli.CommandLine.Option;

/**
 * Chain settings for commands that only read: what the admin leaves unset may come from a VpnNetwork, since a
 * wrong answer there misleads but cannot spend the owner's funds or change who has access.
 */
class ReadChainOptions extends ChainOptions {
    @Option(names = "--vpn-network", description = "take the RPC URLs, contract and chain id not given by flag or variable from this VpnNetwork")
    String vpnNetwork;

    /** The network's first block, when the settings came from a VpnNetwork (list starts there). */
    Long networkFromBlock;

    @Override
    Resolved resolve(DstackVpn root) {
        Own own = own(root.env);
        List<String> urls = new ArrayList<>(own.rpcUrls());
        String c = own.contract();
        Long id = own.chainId();
        if (vpnNetwork != null && (urls.isEmpty() || c == null || id == null)) {
            VpnNetworkChain n = VpnNetworkChain.load(root, vpnNetwork);
            if (urls.isEmpty()) {
                urls.addAll(n.rpcUrls(root));
            }
            networkFromBlock = n.fromBlock();
            c = c == null ? n.contract() : c;
            id = id == null ? n.chainId() : id;
        }
        return complete(urls, c, id, ", or name a --vpn-network");
    }
}
