package io.dstack.vpn.cli;

import java.util.concurrent.Callable;

import io.dstack.vpn.api.peerset.DesiredPeer;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.peerset.PeerSetView;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * A wg-quick config for a member without an agent (an outside peer such as a TEE instance): its address and
 * every peer it should have, from the network's rendered peer set. The private key is left for its owner to
 * fill in: it never leaves the machine that made it.
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
        var cm = root.kube().configMaps().inNamespace(root.namespace()).withName(PeerSetCodec.configMapName(network)).get();
        if (cm == null || cm.getData() == null || cm.getData().get(PeerSetCodec.PEERS_KEY) == null) {
            throw new CliException(ExitCodes.NOT_FOUND, "no rendered peer set for network " + network + " in namespace " + root.namespace());
        }
        PeerSet set = PeerSetCodec.decode(cm.getData().get(PeerSetCodec.PEERS_KEY));
        PeerSet.Peer self = set.peers().stream().filter(p -> p.nodeId().equals(nodeId)).findFirst()
                .orElseThrow(() -> new CliException(ExitCodes.NOT_FOUND, "node " + nodeId + " is not an active member of " + network
                        + " (is its token active and confirmed?)"));
        StringBuilder sb = new StringBuilder();
        sb.append("# wg-quick config for ").append(nodeId).append(" in ").append(network).append(" (peer set generation ")
                .append(set.generation()).append(")\n");
        sb.append("[Interface]\n");
        sb.append("# The private key whose public key is ").append(self.publicKey()).append(": fill it in on the node itself.\n");
        sb.append("PrivateKey = <the node's private key>\n");
        sb.append("Address = ").append(self.address()).append('/').append(set.cidr().substring(set.cidr().indexOf('/') + 1)).append('\n');
        sb.append("ListenPort = ").append(set.listenPort()).append('\n');
        sb.append("MTU = ").append(set.mtu()).append('\n');
        for (DesiredPeer p : PeerSetView.desiredFor(set, nodeId)) {
            sb.append("\n[Peer]\n# ").append(p.nodeId()).append('\n');
            sb.append("PublicKey = ").append(p.publicKey()).append('\n');
            if (p.endpoint() != null) {
                sb.append("Endpoint = ").append(p.endpoint()).append('\n');
            }
            sb.append("AllowedIPs = ").append(String.join(", ", p.allowedIps())).append('\n');
            if (p.keepalive() > 0) {
                sb.append("PersistentKeepalive = ").append(p.keepalive()).append('\n');
            }
        }
        root.out().print(sb);
        root.out().flush();
        return ExitCodes.OK;
    }
}
