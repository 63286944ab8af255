package io.dstack.vpn.operator.peerset;

import java.util.Comparator;
import java.util.List;
import java.util.Map;

import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.v1alpha1.Topology;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.operator.access.OutsidePeer;

/** Turns a network and its admitted, addressed peers into the one document every agent applies. */
public final class PeerSetRenderer {

    public static final int DEFAULT_LISTEN_PORT = 51820;
    public static final int DEFAULT_MTU = 1420;
    public static final int DEFAULT_PROXY_PORT = 443;

    /**
     * @param previous   the peer set currently stored (null if none): its generation is kept when nothing
     *                   changed and increased by one otherwise; generations never decrease
     * @param admitted   peers to include
     * @param addresses  peer name to assigned address; admitted peers without one are left out
     */
    public static PeerSet render(VpnNetwork network, PeerSet previous, List<VpnPeer> admitted, Map<String, String> addresses) {
        return render(network, previous, admitted, List.of(), addresses);
    }

    /** @param outside members without a VpnPeer, addressed under their {@link OutsidePeer#ipamKey()} */
    public static PeerSet render(VpnNetwork network, PeerSet previous, List<VpnPeer> admitted, List<OutsidePeer> outside,
            Map<String, String> addresses) {
        var spec = network.getSpec();
        Topology topology = spec.topology;
        String mode = topology == null || topology.mode == null ? Topology.Mode.Mesh.name() : topology.mode.name();
        List<String> hubs = topology == null || topology.hubs == null || topology.hubs.isEmpty() ? null
                : topology.hubs.stream().sorted().toList();
        List<PeerSet.Peer> peers = java.util.stream.Stream.concat(
                admitted.stream()
                        .filter(p -> addresses.containsKey(p.getMetadata().getName()))
                        .map(p -> new PeerSet.Peer(p.getSpec().nodeId, p.getSpec().publicKey,
                                addresses.get(p.getMetadata().getName()), p.getSpec().endpoint,
                                p.getSpec().transport == null ? "UDP" : p.getSpec().transport.name(),
                                p.getSpec().persistentKeepalive)),
                outside.stream()
                        .filter(o -> addresses.containsKey(o.ipamKey()))
                        .map(o -> new PeerSet.Peer(o.nodeId(), o.publicKey(), addresses.get(o.ipamKey()), null, "UDP", null)))
                .sorted(Comparator.comparing(PeerSet.Peer::nodeId))
                .toList();
        PeerSet candidate = new PeerSet(network.getMetadata().getName(), 0, spec.cidr,
                spec.listenPort == null ? DEFAULT_LISTEN_PORT : spec.listenPort,
                spec.mtu == null ? DEFAULT_MTU : spec.mtu, mode, hubs, proxyPort(spec), peers);
        if (previous == null) {
            // No stored set (first render, or the ConfigMap was lost): continue after the last generation
            // the status recorded, so agents never see a generation go backwards.
            var status = network.getStatus();
            long last = status == null || status.peerSet == null || status.peerSet.generation == null ? 0 : status.peerSet.generation;
            return candidate.withGeneration(last + 1);
        }
        return candidate.sameMembershipAs(previous) ? previous : candidate.withGeneration(previous.generation() + 1);
    }

    private static Integer proxyPort(io.dstack.vpn.api.v1alpha1.VpnNetworkSpec spec) {
        if (spec.proxy == null || !Boolean.TRUE.equals(spec.proxy.enabled)) {
            return null;
        }
        return spec.proxy.port == null ? DEFAULT_PROXY_PORT : spec.proxy.port;
    }

    private PeerSetRenderer() {
    }
}
