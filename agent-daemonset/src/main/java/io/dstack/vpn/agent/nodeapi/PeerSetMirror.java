package io.dstack.vpn.agent.nodeapi;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.dstack.vpn.agent.PeerSetWatcher;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.peerset.PeerSetIndex;
import io.dstack.vpn.api.peerset.StoredPeerSet;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;

/**
 * One network's peer-set objects as the node API holds them. Completeness, ordering and unreadable objects are the
 * agent's own {@link PeerSetWatcher}'s call (run on the caller's thread here); this class keeps the stored objects
 * beside it, so each complete set becomes a {@link PeerSetSnapshot} of exactly the objects it was assembled from,
 * and wakes every long-poll waiting on the network.
 */
final class PeerSetMirror {
    private final String network;
    private final String indexName;
    private final PeerSetWatcher watcher;
    /** Objects as last received, trimmed to what a node needs, by name. */
    private final Map<String, ConfigMap> objects = new HashMap<>();
    private volatile PeerSetSnapshot current;
    /** Run after each new set is published: the long-polls waiting on this network. */
    private final Set<Runnable> listeners = ConcurrentHashMap.newKeySet();

    PeerSetMirror(String network) {
        this.network = network;
        this.indexName = PeerSetCodec.configMapName(network);
        this.watcher = new PeerSetWatcher(network, Runnable::run, this::publish);
    }

    synchronized void received(ConfigMap cm) {
        String name = cm.getMetadata().getName();
        ConfigMap before = objects.put(name, trimmed(cm)); // in place before the watcher may publish() with it
        if (!watcher.received(cm)) {
            // Unreadable (or not ours): the watcher keeps the last readable version, and so do we.
            if (before == null) {
                objects.remove(name);
            } else {
                objects.put(name, before);
            }
        }
    }

    /** As the agent does: a deleted shard is dropped, a deleted index changes nothing (the operator renders it again). */
    synchronized void deleted(ConfigMap cm) {
        String name = cm.getMetadata().getName();
        if (!name.equals(indexName)) {
            objects.remove(name);
        }
        watcher.deleted(cm);
    }

    /** The newest complete set; null until one has arrived. */
    PeerSetSnapshot current() {
        return current;
    }

    /** Runs {@code listener} after every new set until {@link #unlisten}; listen before reading {@link #current()}. */
    void listen(Runnable listener) {
        listeners.add(listener);
    }

    void unlisten(Runnable listener) {
        listeners.remove(listener);
    }

    /** Called by the watcher, under this object's lock (from received). */
    private void publish() {
        StoredPeerSet set = watcher.latest();
        Map<String, ConfigMap> shards = new LinkedHashMap<>();
        if (set.legacy() == null) {
            for (PeerSetIndex.ShardRef ref : set.index().shards()) {
                shards.put(ref.name(), objects.get(ref.name()));
            }
        }
        PeerSetSnapshot previous = current;
        PeerSetSnapshot next = new PeerSetSnapshot(network, set, objects.get(indexName), Map.copyOf(shards), 0);
        long since = previous != null && previous.layout().equals(next.layout()) ? previous.layoutSince() : next.generation();
        current = new PeerSetSnapshot(network, set, next.indexObject(), next.shardObjects(), since);
        listeners.forEach(Runnable::run);
    }

    /** Name, namespace, labels, annotations and data: no managed fields, owners or uids for the nodes. */
    static ConfigMap trimmed(ConfigMap cm) {
        return new ConfigMapBuilder()
                .withNewMetadata()
                .withName(cm.getMetadata().getName())
                .withNamespace(cm.getMetadata().getNamespace())
                .withLabels(cm.getMetadata().getLabels())
                .withAnnotations(cm.getMetadata().getAnnotations())
                .withResourceVersion(cm.getMetadata().getResourceVersion())
                .endMetadata()
                .withData(cm.getData())
                .build();
    }
}
