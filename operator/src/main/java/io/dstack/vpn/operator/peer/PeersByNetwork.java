package io.dstack.vpn.operator.peer;

import java.util.List;

import io.dstack.vpn.api.v1alpha1.VpnPeer;

/**
 * The index of VpnPeers by the network they join. Both reconcilers keep one (the peer reconciler on its
 * primary cache, the network reconciler on its VpnPeer informer); this is its one name and key.
 */
public final class PeersByNetwork {
    public static final String INDEX = "byNetwork";

    private PeersByNetwork() {
    }

    /** The index key of a network; VpnPeers join networks of their own namespace. */
    public static String key(String namespace, String network) {
        return namespace + "/" + network;
    }

    /** The indexer: a peer's one key, none for a peer without a spec. */
    public static List<String> keysOf(VpnPeer peer) {
        return peer.getSpec() == null ? List.of() : List.of(key(peer.getMetadata().getNamespace(), peer.getSpec().network));
    }
}
