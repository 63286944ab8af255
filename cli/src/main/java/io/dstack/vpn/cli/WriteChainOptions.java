package io.dstack.vpn.cli;

import java.time.Duration;

import org.web3j.crypto.Credentials;

import io.dstack.vpn.chain.contract.AccessContract;
import io.dstack.vpn.chain.contract.ContractWriter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Chain settings, key and fee cap for commands that sign. Where to send, which chain to sign for and which
 * contract to call come only from the admin's flags or environment: whoever can edit a VpnNetwork could otherwise
 * point the owner's key at an endpoint of their choosing (which can fake fees, receipts and the chain id it
 * reports). A VpnNetwork named here is only compared with those settings.
 */
class WriteChainOptions extends ChainOptions {
    @Option(names = "--vpn-network", description = "refuse unless this VpnNetwork names the same contract and chain id as --contract and "
            + "--chain-id (or their DSTACK_ variables); never a source of settings for signing")
    String vpnNetwork;

    @Mixin
    SigningKeyOptions key;

    @Mixin
    FeeOptions fees;

    @Override
    Resolved resolve(DstackVpn root) {
        Own own = own(root.env);
        Resolved r = complete(own.rpcUrls(), own.contract(), own.chainId(), " (commands that sign never take it from the cluster)");
        if (vpnNetwork != null) {
            VpnNetworkChain n = VpnNetworkChain.load(root, vpnNetwork);
            if (!r.contract().equalsIgnoreCase(n.contract())) {
                throw new CliException(ExitCodes.CONFIG, "VpnNetwork " + vpnNetwork + " names contract " + n.contract() + ", but yours (--contract or "
                        + "DSTACK_CONTRACT) is " + r.contract() + ": refusing to sign until they agree");
            }
            if (r.chainId() != n.chainId()) {
                throw new CliException(ExitCodes.CONFIG, "VpnNetwork " + vpnNetwork + " names chain id " + n.chainId() + ", but yours (--chain-id or "
                        + "DSTACK_CHAIN_ID, default " + BASE_CHAIN_ID + ") is " + r.chainId() + ": refusing to sign until they agree");
            }
        }
        return r;
    }

    /** A writer with the contract owner's key, within the fee cap; refuses early when that key is not the owner. */
    ContractWriter ownerWriter(DstackVpn root) {
        Credentials credentials = key.credentials(root.env);
        ContractWriter writer = new ContractWriter(rpc(root), credentials, resolved(root).chainId(), Duration.ofMinutes(2), fees.limits());
        String owner = AccessContract.decodeAddress(call(root, AccessContract.owner()));
        if (!owner.equalsIgnoreCase(writer.address())) {
            throw new CliException(ExitCodes.CONFIG, key.source() + " belongs to " + writer.address() + ", but the contract owner is " + owner);
        }
        return writer;
    }
}
