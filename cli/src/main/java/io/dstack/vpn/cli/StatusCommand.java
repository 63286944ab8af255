package io.dstack.vpn.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

@Command(name = "status", description = "The cluster view: networks with peers by phase, convergence and chain lag.")
class StatusCommand implements Callable<Integer> {
    @ParentCommand
    DstackVpn root;

    @Override
    public Integer call() {
        String ns = root.namespace();
        List<VpnPeer> peers = root.kube().resources(VpnPeer.class).inNamespace(ns).list().getItems();
        List<Map<String, Object>> rows = new ArrayList<>();
        for (VpnNetwork n : root.kube().resources(VpnNetwork.class).inNamespace(ns).list().getItems()) {
            var s = n.getStatus();
            String ready = s == null || s.conditions == null ? "" : s.conditions.stream().filter(c -> c.getType().equals("Ready"))
                    .map(c -> c.getStatus() + (c.getStatus().equals("True") ? "" : " (" + c.getReason() + ")")).findFirst().orElse("");
            rows.add(Output.map(
                    "network", n.getMetadata().getName(),
                    "cidr", n.getSpec().cidr,
                    "source", n.getSpec().access.chain != null ? "chain" : "devAllowList",
                    "active", s == null || s.peers == null ? null : s.peers.active,
                    "pending", s == null || s.peers == null ? null : s.peers.pending,
                    "revoked", s == null || s.peers == null ? null : s.peers.revoked,
                    "suspended", s == null || s.peers == null ? null : s.peers.suspended,
                    "denied", s == null || s.peers == null ? null : s.peers.denied,
                    "applied", s == null || s.convergence == null ? null : s.convergence.nodesApplied + "/" + s.convergence.nodesTotal,
                    "generation", s == null || s.peerSet == null ? null : s.peerSet.generation,
                    "chainLag", s == null || s.chain == null ? null : s.chain.lagBlocks,
                    "ready", ready,
                    "peers", peers.stream().filter(p -> n.getMetadata().getName().equals(p.getSpec().network)).count()));
        }
        Output.rows(root.out(), root.output, List.of("network", "cidr", "source", "active", "pending", "revoked", "suspended", "denied",
                "applied", "generation", "chainLag", "ready"), rows);
        return ExitCodes.OK;
    }
}
