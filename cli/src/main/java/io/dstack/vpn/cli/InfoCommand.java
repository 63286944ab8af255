package io.dstack.vpn.cli;

import java.math.BigInteger;
import java.util.concurrent.Callable;

import io.dstack.vpn.chain.contract.AccessContract;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "info", description = "A token by id, or the current token of a node id.")
class InfoCommand implements Callable<Integer> {
    @ParentCommand
    DstackVpn root;
    @Mixin
    ReadChainOptions chain;

    @Parameters(index = "0", paramLabel = "NODE_ID|TOKEN_ID")
    String what;

    @Override
    public Integer call() {
        BigInteger id;
        if (what.chars().allMatch(Character::isDigit)) {
            id = Inputs.tokenId(what);
        } else {
            Inputs.nodeId(what);
            id = AccessContract.decodeUint(chain.call(root, AccessContract.getTokenIdByNodeId(what)));
            if (id.signum() == 0) {
                throw new CliException(ExitCodes.NOT_FOUND, "no token for node id " + what);
            }
        }
        var s = chain.token(root, id);
        Output.object(root.out(), root.output, Output.map("tokenId", id.toString(), "nodeId", s.nodeId(), "publicKey", s.publicKey(),
                "owner", s.owner(), "active", s.active(), "createdAt", s.createdAt().toString()));
        return ExitCodes.OK;
    }
}
