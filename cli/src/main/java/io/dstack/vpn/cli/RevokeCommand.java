package io.dstack.vpn.cli;

import java.math.BigInteger;
import java.util.concurrent.Callable;

import io.dstack.vpn.chain.contract.ContractWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "revoke", description = "Revoke a token (contract owner's key from PRIVATE_KEY): every node drops the peer at the next block it sees.")
class RevokeCommand implements Callable<Integer> {
    @ParentCommand
    DstackVpn root;
    @Mixin
    ChainOptions chain;

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
