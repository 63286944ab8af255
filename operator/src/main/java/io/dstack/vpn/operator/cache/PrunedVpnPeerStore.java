package io.dstack.vpn.operator.cache;

import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.javaoperatorsdk.operator.processing.event.source.informer.TransformingItemStore;

/**
 * The informer caches' VpnPeers without {@code metadata.managedFields}. Nothing in the operator reads them (its writes
 * are server-side applies, which must not carry them), and with four field managers per peer they were most of a
 * cached VpnPeer: two caches of 10,000 peers kept the 256 MiB heap of the 10,000-peer benchmark 88–100% full, with a
 * full GC every ~7 s (docs/benchmarks.md).
 */
public class PrunedVpnPeerStore extends TransformingItemStore<VpnPeer> {
    public PrunedVpnPeerStore() {
        super(peer -> {
            peer.getMetadata().setManagedFields(null);
            return peer;
        });
    }
}
