package io.dstack.vpn.cli;

import java.util.concurrent.Callable;

import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.StoredPeerSet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * A wg-quick config for a member without an agent (an outside peer such as a TEE instance): its address and
 * every peer it should have, from the network's rendered peer set. The private key is left for its owner to
 * fill in: it never leaves the machine that made it. For a member with transport TCP it also names the udp2tcp
 * tunnel each peer needs ({@link WgQuickConfig}).
 */
@Command(name = "config", description = "wg-quick config for an outside peer; the private key is left for its owner.")
class ConfigCommand implements Callable<Integer> {
    @ParentCommand
    DstackVpn root;

    @Parameters(index = "0", paramLabel = "NODE_ID")
    String nodeId;

    @Option(names = "--vpn-network", required = true, description = "the VpnNetwork")
    String network;

    @Override
    public Integer call() {
        Inputs.nodeId(nodeId);
        StoredPeerSet stored;
        try {
            stored = StoredPeerSet.read(root.kube(), root.namespace(), network).orElseThrow(() ->
                    new CliException(ExitCodes.NOT_FOUND, "no rendered peer set for network " + network + " in namespace " + root.namespace()));
        } catch (IllegalArgumentException e) {
            throw new CliException(ExitCodes.NOT_FOUND, "the peer set of network " + network + " is unreadable: " + e.getMessage());
        }
        if (!stored.complete()) {
            throw new CliException(ExitCodes.NOT_FOUND, "the peer set of network " + network
                    + " is being rewritten (a shard is missing or older than its index); try again in a moment");
        }
        PeerSet set = stored.whole();
        String config = WgQuickConfig.render(set, nodeId, network);
        root.out().print(config);
        root.out().flush();
        return ExitCodes.OK;
    }
}
