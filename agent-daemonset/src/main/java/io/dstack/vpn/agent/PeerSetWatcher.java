package io.dstack.vpn.agent;

import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;

/**
 * Watches the network's peer-set ConfigMap and keeps the newest readable peer set. Each update queues one
 * run of {@code onNewest} on the apply thread, and only the run for the newest update goes ahead: a burst
 * of updates collapses into one apply of the last.
 */
final class PeerSetWatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PeerSetWatcher.class);

    private final Executor applyThread;
    private final Runnable onNewest;
    private final AtomicLong pendingVersion = new AtomicLong();
    private volatile PeerSet latest;
    private SharedIndexInformer<ConfigMap> informer;

    PeerSetWatcher(Executor applyThread, Runnable onNewest) {
        this.applyThread = applyThread;
        this.onNewest = onNewest;
    }

    void start(KubernetesClient client, AgentConfig config) {
        informer = client.configMaps().inNamespace(config.namespace())
                .withName(PeerSetCodec.configMapName(config.network()))
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
                        // Keep the last applied peers: a lost ConfigMap is re-rendered by the operator.
                    }
                });
    }

    /** The newest readable peer set; null until one has arrived. */
    PeerSet latest() {
        return latest;
    }

    void received(ConfigMap cm) {
        String json = cm.getData() == null ? null : cm.getData().get(PeerSetCodec.PEERS_KEY);
        if (json == null) {
            return;
        }
        try {
            latest = PeerSetCodec.decode(json);
        } catch (IllegalArgumentException e) {
            LOG.warn("ignoring an unreadable peer set: {}", e.getMessage());
            return;
        }
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
