package io.dstack.vpn.cli;

import java.math.BigInteger;
import java.util.concurrent.Callable;

import io.dstack.vpn.chain.contract.ContractWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "revoke", description = {"Revoke a token with the contract owner's key: every node drops the peer at the next block it sees.",
        "Key: --private-key-file, --keystore, or env PRIVATE_KEY. RPC endpoint, contract and chain id: flags or DSTACK_* variables only."})
class RevokeCommand implements Callable<Integer> {
    @ParentCommand
    DstackVpn root;
    @Mixin
    WriteChainOptions chain;

    @Parameters(index = "0", paramLabel = "TOKEN_ID")
    String tokenId;

    @Override
    public Integer call() {
        BigInteger id = Inputs.tokenId(tokenId);
        var state = chain.token(root, id);
        if (!state.active()) {
            throw new CliException(ExitCodes.USAGE, "token " + id + " (node " + state.nodeId() + ") is already revoked");
        }
        ContractWriter writer = chain.ownerWriter(root);
        ContractWriter.Receipt r = writer.revoke(chain.contract(root), id);
        Output.object(root.out(), root.output, Output.map("tokenId", id.toString(), "nodeId", state.nodeId(), "revoked", r.success(),
                "transaction", r.txHash(), "block", r.block()));
        return r.success() ? ExitCodes.OK : ExitCodes.UNAVAILABLE;
    }
}
