package io.dstack.vpn.agent;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import io.dstack.vpn.api.peerset.DesiredPeer;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetIndex;
import io.dstack.vpn.api.peerset.PeerSetShard;
import io.dstack.vpn.api.peerset.StoredPeerSet;

/**
 * What the last successful apply configured: the stored set (its shards as the decoded objects it was built from),
 * its header, this node's own entry, and each peer as it went onto the device (viewed, resolved, routed). With it
 * a change of a few shards becomes the few peers that changed, at the cost of those shards, not of the whole set.
 * Lives on the apply thread.
 */
final class AppliedPeerSet {

    /** A peer whose entry changed; {@code after} is null when it left the set. */
    record PeerChange(String nodeId, PeerSet.Peer after) {
    }

    private StoredPeerSet stored;
    private final PeerSet header;
    private final String selfNodeId;
    private final PeerSet.Peer self;
    private final Map<String, DesiredPeer> byNode = new HashMap<>();
    private final Map<String, String> nodeByKey = new HashMap<>();

    private AppliedPeerSet(StoredPeerSet stored, PeerSet header, String selfNodeId, PeerSet.Peer self) {
        this.stored = stored;
        this.selfNodeId = selfNodeId;
        this.header = header;
        this.self = self;
    }

    /**
     * After a full apply of {@code whole} (assembled from {@code stored}) that put {@code configured} on the device.
     * Null when two peers share a public key: one key's removal could not be told from the other's, so every apply
     * then takes the full path.
     */
    static AppliedPeerSet of(StoredPeerSet stored, PeerSet whole, String selfNodeId, List<DesiredPeer> configured) {
        PeerSet.Peer self = whole.peers().stream().filter(p -> p.nodeId().equals(selfNodeId)).findFirst().orElse(null);
        AppliedPeerSet applied = new AppliedPeerSet(stored, headerOf(stored), selfNodeId, self);
        for (DesiredPeer d : configured) {
            if (applied.nodeByKey.put(d.publicKey(), d.nodeId()) != null) {
                return null;
            }
            applied.byNode.put(d.nodeId(), d);
        }
        return applied;
    }

    /** Everything an agent applies except the peers and the generation. */
    static PeerSet headerOf(StoredPeerSet stored) {
        return stored.index().withPeers(List.of()).withGeneration(0);
    }

    PeerSet header() {
        return header;
    }

    /** This node's own entry; null when it is not a member. */
    PeerSet.Peer self() {
        return self;
    }

    int peerCount() {
        return byNode.size();
    }

    DesiredPeer configured(String nodeId) {
        return byNode.get(nodeId);
    }

    /** Whether another peer than {@code nodeId} is configured with {@code publicKey}. */
    boolean keyHeldByOther(String publicKey, String nodeId) {
        String holder = nodeByKey.get(publicKey);
        return holder != null && !holder.equals(nodeId);
    }

    /**
     * The peers that changed from the applied set to {@code next}, found by diffing only the shards whose object is
     * new. Null when {@code next} differs in more than peers of other nodes (either set is of the legacy layout, the
     * header or the shard layout changed, this node's own entry changed): then the whole set must be applied.
     */
    List<PeerChange> changesTo(StoredPeerSet next) {
        if (stored.legacy() != null || next.legacy() != null || !headerOf(next).equals(header)
                || !shardNames(next.index()).equals(shardNames(stored.index()))) {
            return null;
        }
        List<PeerChange> changes = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (PeerSetIndex.ShardRef ref : next.index().shards()) {
            PeerSetShard before = stored.shards().get(ref.name());
            PeerSetShard after = next.shards().get(ref.name());
            if (before == after) {
                continue;
            }
            for (PeerChange c : diff(before, after)) {
                // Our own entry (address, membership, transport) shapes every peer; a node id in two shards is
                // a layout this diff cannot order.
                if (c.nodeId().equals(selfNodeId) || !seen.add(c.nodeId())) {
                    return null;
                }
                changes.add(c);
            }
        }
        return changes;
    }

    /** Remembers the peer as configured now (null: not configured). */
    void configured(String nodeId, DesiredPeer now) {
        DesiredPeer before = now == null ? byNode.remove(nodeId) : byNode.put(nodeId, now);
        if (before != null) {
            nodeByKey.remove(before.publicKey());
        }
        if (now != null) {
            nodeByKey.put(now.publicKey(), nodeId);
        }
    }

    /** The stored set whose shards are now applied. */
    void advanceTo(StoredPeerSet next) {
        stored = next;
    }

    private static List<String> shardNames(PeerSetIndex index) {
        return index.shards().stream().map(PeerSetIndex.ShardRef::name).toList();
    }

    /** Peers added, changed or gone between two versions of one shard, by node id (O(shard size)). */
    private static List<PeerChange> diff(PeerSetShard before, PeerSetShard after) {
        Map<String, PeerSet.Peer> old = new HashMap<>();
        if (before != null) {
            before.peers().forEach(p -> old.put(p.nodeId(), p));
        }
        List<PeerChange> changes = new ArrayList<>();
        if (after != null) {
            for (PeerSet.Peer p : after.peers()) {
                PeerSet.Peer was = old.remove(p.nodeId());
                if (!p.equals(was)) {
                    changes.add(new PeerChange(p.nodeId(), p));
                }
            }
        }
        old.keySet().forEach(id -> changes.add(new PeerChange(id, null)));
        return changes;
    }
}
