package io.dstack.vpn.cli;

import java.util.concurrent.Callable;

import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.chain.contract.ContractWriter;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "register", description = {"Mint the access NFT for a node with the contract owner's key; waits for the receipt.",
        "Key: --private-key-file, --keystore, or env PRIVATE_KEY. RPC endpoint, contract and chain id: flags or DSTACK_* variables only."})
class RegisterCommand implements java.util.concurrent.Callable<Integer> {
    @ParentCommand
    DstackVpn root;
    @Mixin
    WriteChainOptions chain;

    @Parameters(index = "0", paramLabel = "OWNER", description = "address that will hold the token")
    String owner;

    @Parameters(index = "1", arity = "0..1", paramLabel = "NODE_ID", description = "node id (default: the VpnPeer's)")
    String nodeId;

    static class KeySource {
        @Option(names = "--public-key", description = "the node's WireGuard public key")
        String publicKey;

        @Option(names = "--peer", description = "take node id and key from this VpnPeer (what the node's agent published)")
        String peer;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    KeySource key;

    @Option(names = "--token-uri", defaultValue = "", description = "token URI (metadata), default empty")
    String tokenUri;

    @Override
    public Integer call() {
        String publicKey = key.publicKey;
        String node = nodeId;
        if (key.peer != null) {
            VpnPeer p = root.kube().resources(VpnPeer.class).inNamespace(root.namespace()).withName(key.peer).get();
            if (p == null) {
                throw new CliException(ExitCodes.NOT_FOUND, "VpnPeer " + key.peer + " not found in namespace " + root.namespace());
            }
            publicKey = p.getSpec().publicKey;
            node = node == null ? p.getSpec().nodeId : node;
        }
        if (node == null) {
            throw new CliException(ExitCodes.USAGE, "give NODE_ID or --peer");
        }
        Inputs.address("owner", owner);
        Inputs.nodeId(node);
        Inputs.publicKey(publicKey);
        ContractWriter writer = chain.ownerWriter(root);
        ContractWriter.Receipt r = writer.mint(chain.contract(root), owner, node, publicKey, tokenUri);
        if (!r.success()) {
            throw new CliException(ExitCodes.UNAVAILABLE, "transaction " + r.txHash() + " failed in block " + r.block());
        }
        Output.object(root.out(), root.output, Output.map("tokenId", r.mintedTokenId() == null ? null : r.mintedTokenId().toString(),
                "nodeId", node, "publicKey", publicKey, "owner", owner, "transaction", r.txHash(), "block", r.block()));
        return ExitCodes.OK;
    }
}
