package io.dstack.vpn.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

@Command(name = "pending", description = "VpnPeers waiting for an access token, with the command that registers each.")
class PendingCommand implements Callable<Integer> {
    static final Set<String> WAITING = Set.of("NoToken", "KeyMismatch");

    @ParentCommand
    DstackVpn root;

    @Override
    public Integer call() {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (VpnPeer p : root.kube().resources(VpnPeer.class).inNamespace(root.namespace()).list().getItems()) {
            var s = p.getStatus();
            if (s == null || s.phase != VpnPeerPhase.Pending || !WAITING.contains(s.reason)) {
                continue;
            }
            rows.add(Output.map("peer", p.getMetadata().getName(), "network", p.getSpec().network, "nodeId", p.getSpec().nodeId,
                    "reason", s.reason, "publicKey", p.getSpec().publicKey,
                    "next", "KeyMismatch".equals(s.reason)
                            ? "token holder rebinds the key (updatePublicKey), or: dstack-vpn revoke <token> then register"
                            : "dstack-vpn register <holder> --peer " + p.getMetadata().getName() + " --vpn-network " + p.getSpec().network
                                    + " -n " + p.getMetadata().getNamespace()));
        }
        Output.rows(root.out(), root.output, List.of("peer", "network", "nodeId", "reason", "publicKey", "next"), rows);
        return ExitCodes.OK;
    }
}
