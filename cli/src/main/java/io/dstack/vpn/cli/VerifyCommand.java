package io.dstack.vpn.cli;

import java.util.concurrent.Callable;

import org.web3j.abi.FunctionEncoder;
import org.web3j.abi.FunctionReturnDecoder;
import org.web3j.abi.TypeReference;
import org.web3j.abi.datatypes.Address;
import org.web3j.abi.datatypes.Bool;
import org.web3j.abi.datatypes.Function;
import org.web3j.abi.datatypes.Utf8String;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

@Command(name = "verify", description = "Does ADDRESS hold an active token for NODE_ID? Exit 0 yes, 1 no.")
class VerifyCommand implements Callable<Integer> {
    @ParentCommand
    DstackVpn root;
    @Mixin
    ReadChainOptions chain;

    @Parameters(index = "0", paramLabel = "ADDRESS")
    String address;

    @Parameters(index = "1", paramLabel = "NODE_ID")
    String nodeId;

    @Override
    @SuppressWarnings({"rawtypes", "unchecked"})
    public Integer call() {
        Inputs.address("address", address);
        Inputs.nodeId(nodeId);
        String data = FunctionEncoder.encode(new Function("verifyAccess", java.util.List.of(new Address(address), new Utf8String(nodeId)),
                java.util.List.of()));
        var values = FunctionReturnDecoder.decode(chain.call(root, data), java.util.List.of((TypeReference) new TypeReference<Bool>() { }));
        boolean ok = !values.isEmpty() && (Boolean) ((Bool) values.get(0)).getValue();
        Output.object(root.out(), root.output, Output.map("address", address, "nodeId", nodeId, "access", ok));
        return ok ? ExitCodes.OK : ExitCodes.NO;
    }
}
