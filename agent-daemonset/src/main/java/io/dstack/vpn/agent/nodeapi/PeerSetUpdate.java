package io.dstack.vpn.agent.nodeapi;

import java.util.List;

import io.fabric8.kubernetes.api.model.ConfigMap;

/**
 * A long-poll's answer: the network's peer-set generation now, and the stored objects a node holding the set at the
 * generation it asked about needs (the index object, and the shards that changed since, or all of them), as the
 * in-cluster informer would deliver them: feed each to {@code PeerSetWatcher.received}.
 */
public record PeerSetUpdate(long generation, List<ConfigMap> objects) {
    public PeerSetUpdate {
        objects = List.copyOf(objects);
    }
}
