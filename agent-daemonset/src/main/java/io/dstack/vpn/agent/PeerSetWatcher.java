package io.dstack.vpn.agent;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.peerset.PeerSetShard;
import io.dstack.vpn.api.peerset.StoredPeerSet;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;

/**
 * Watches the network's peer-set ConfigMaps (by label: the index {@code <network>-peerset} and its shards, or the
 * one object of the layout before sharding) and keeps the newest complete set. Each object is decoded once, when it
 * arrives, so a one-peer change costs the decoding of one shard and the index, not of the whole set. An unreadable
 * object is ignored (the last readable version stays); a set whose index lists a shard that is missing or older
 * (the operator writes shards first, then the index; a reshard renames them all) is held back, and the last complete
 * one stays in force. Each complete set queues one run of {@code onNewest} on the apply thread, and only the run for
 * the newest goes ahead: a burst of updates collapses into one apply of the last. Public for the node API
 * ({@code nodeapi}), which keeps one per served network and feeds it from its own informer.
 */
public final class PeerSetWatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PeerSetWatcher.class);

    private final String indexName;
    private final Executor applyThread;
    private final Runnable onNewest;
    private final AtomicLong pendingVersion = new AtomicLong();
    /** The index object as last read: an index without shards, or a whole legacy set. */
    private StoredPeerSet head;
    /** Shards as last read, by name, also those the index does not list yet (a reshard writes them first). */
    private final Map<String, PeerSetShard> shards = new HashMap<>();
    private volatile StoredPeerSet latest;
    private SharedIndexInformer<ConfigMap> informer;

    public PeerSetWatcher(String network, Executor applyThread, Runnable onNewest) {
        this.indexName = PeerSetCodec.configMapName(network);
        this.applyThread = applyThread;
        this.onNewest = onNewest;
    }

    void start(KubernetesClient client, AgentConfig config) {
        informer = client.configMaps().inNamespace(config.namespace())
                .withLabel(VpnLabels.NETWORK, config.network())
                .withLabel(VpnLabels.COMPONENT, VpnLabels.COMPONENT_PEERSET)
                .inform(new ResourceEventHandler<>() {
                    @Override
                    public void onAdd(ConfigMap cm) {
                        received(cm);
                    }

                    @Override
                    public void onUpdate(ConfigMap old, ConfigMap cm) {
                        received(cm);
                    }

                    @Override
                    public void onDelete(ConfigMap cm, boolean unknown) {
                        deleted(cm);
                    }
                });
    }

    /** The newest complete peer set; null until one has arrived. */
    public StoredPeerSet latest() {
        return latest;
    }

    /**
     * Takes one object as it arrives. Returns whether it was read and kept (the node API keeps the stored object
     * beside it only then): false for an unreadable object, whose last readable version stays, and for an object
     * that is neither this network's index nor one of its shards.
     */
    public synchronized boolean received(ConfigMap cm) {
        String name = cm.getMetadata().getName();
        try {
            if (name.equals(indexName)) {
                Optional<StoredPeerSet> read = StoredPeerSet.decodeIndexObject(cm);
                if (read.isEmpty()) {
                    return false;
                }
                head = read.get();
            } else if (name.startsWith(indexName + "-")) {
                shards.put(name, StoredPeerSet.decodeShard(cm));
                if (!listed(name)) {
                    return true; // kept for the index that will list it (a reshard), but the set in force is unchanged
                }
            } else {
                return false;
            }
        } catch (IllegalArgumentException e) {
            LOG.warn("ignoring an unreadable {} (keeping its last readable version): {}", name, e.getMessage());
            return false;
        }
        offerNewest();
        return true;
    }

    /**
     * A deleted shard is dropped (a reshard deletes the old layout's after writing the new index). A deleted index
     * changes nothing: the operator renders it again, and the last complete set stays in force meanwhile.
     */
    public synchronized void deleted(ConfigMap cm) {
        shards.remove(cm.getMetadata().getName());
    }

    private boolean listed(String shardName) {
        return head != null && head.legacy() == null && head.index().shards().stream().anyMatch(ref -> ref.name().equals(shardName));
    }

    private void offerNewest() {
        if (head == null) {
            return;
        }
        StoredPeerSet set = head.withShards(shards);
        if (!set.complete()) {
            LOG.debug("peer set generation {} is not complete yet (shards still arriving); keeping generation {}",
                    set.index().generation(), latest == null ? "none" : latest.index().generation());
            return;
        }
        latest = set;
        long version = pendingVersion.incrementAndGet();
        applyThread.execute(() -> {
            if (version == pendingVersion.get()) {
                onNewest.run();
            }
        });
    }

    @Override
    public void close() {
        if (informer != null) {
            informer.close();
        }
    }
}
