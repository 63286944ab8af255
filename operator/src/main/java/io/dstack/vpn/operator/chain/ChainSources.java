package io.dstack.vpn.operator.chain;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.v1alpha1.ChainAccess;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.chain.follower.Checkpoint;
import io.dstack.vpn.chain.follower.FollowerHealth;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.javaoperatorsdk.operator.processing.event.ResourceID;

/**
 * The running chain sources, one per VpnNetwork whose access source is the chain. The network reconciler
 * ensures the source matches the spec; {@link ChainSourceCleanup} stops the source of a deleted network
 * (docs/adr/0014-chain-source-lifecycle.md), and all stop at shutdown. Checkpoints go to a ConfigMap
 * {@code <network>-chain} owned by the network.
 */
@ApplicationScoped
public class ChainSources {
    private static final Logger LOG = Logger.getLogger(ChainSources.class);

    @Inject
    KubernetesClient client;
    @Inject
    ChainMetrics metrics;
    @Inject
    RpcSettings rpcSettings;

    private final Map<ResourceID, Running> sources = new ConcurrentHashMap<>();
    private final List<Consumer<ResourceID>> networkSubscribers = new CopyOnWriteArrayList<>();
    private final List<BiConsumer<ResourceID, Set<String>>> nodeSubscribers = new CopyOnWriteArrayList<>();
    /**
     * UIDs of deleted networks, the latest {@link #DELETED_REMEMBERED}: a reconcile in flight when its network is
     * deleted must not start the source again after the delete stopped it. A re-created network has a new UID.
     */
    private final Set<String> deleted = Collections.newSetFromMap(new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > DELETED_REMEMBERED;
        }
    });
    static final int DELETED_REMEMBERED = 1024;

    public void onNetworkChange(Consumer<ResourceID> subscriber) {
        networkSubscribers.add(subscriber);
    }

    public void onNodesChange(BiConsumer<ResourceID, Set<String>> subscriber) {
        nodeSubscribers.add(subscriber);
    }

    public static String configMapName(String network) {
        return network + "-chain";
    }

    /** The running source of a network, if it has one. */
    Optional<ChainSource> get(VpnNetwork network) {
        return Optional.ofNullable(sources.get(ResourceID.fromResource(network))).map(Running::source);
    }

    public Optional<FollowerHealth> health(VpnNetwork network) {
        return get(network).map(ChainSource::health);
    }

    /**
     * Starts, rebuilds or keeps the network's source so that it matches the spec. Throws
     * IllegalArgumentException with a message for the status when the RPC URLs cannot be resolved.
     */
    public void ensure(VpnNetwork network) {
        ResourceID id = ResourceID.fromResource(network);
        ChainAccess chain = network.getSpec().access.chain;
        if (chain == null) {
            stop(id);
            return;
        }
        ChainSourceKey key = ChainSourceKey.of(id.getNamespace().orElse(""), id.getName(), chain, rpcUrls(network, chain));
        GrantConfirmations k = GrantConfirmations.of(chain);
        Running current = sources.get(id);
        // Same key but another UID: the network was deleted and created again; its delete event must not stop this one.
        if (current != null && current.source().key().equals(key) && Objects.equals(current.uid(), network.getMetadata().getUid())) {
            current.source().setGrantConfirmations(k);
            return;
        }
        stop(id);
        if (isDeleted(network)) {
            return;
        }
        Checkpoint resume = loadCheckpoint(network, key);
        String ns = key.namespace();
        String name = key.network();
        ChainSource source = new ChainSource(key, k, resume, rpcSettings.limits(), metrics,
                nodes -> nodeSubscribers.forEach(s -> s.accept(id, nodes)),
                () -> networkSubscribers.forEach(s -> s.accept(id)),
                checkpoint -> saveCheckpoint(network, key, checkpoint));
        synchronized (deleted) {
            // Checked again with the put: networkDeleted may have run while the source was being built.
            if (isDeleted(network)) {
                source.stop();
                return;
            }
            sources.put(id, new Running(network.getMetadata().getUid(), source));
        }
        LOG.infof("chain source for %s/%s: chain %d, contract %s, %d RPC endpoint(s), resuming %s", ns, name, key.chainId(),
                key.contract(), key.rpcUrls().size(), resume == null ? "from block " + key.fromBlock() : "from checkpoint block " + resume.block());
    }

    /** The network is deleted: stops its source for good (a late {@link #ensure} of this object starts none). */
    public void networkDeleted(VpnNetwork network) {
        String uid = network.getMetadata().getUid();
        synchronized (deleted) {
            if (uid != null) {
                deleted.add(uid);
            }
        }
        // Only the deleted object's source: a network created again under the name may already have its own.
        ResourceID id = ResourceID.fromResource(network);
        Running running = sources.get(id);
        if (running != null && (uid == null || uid.equals(running.uid())) && sources.remove(id, running)) {
            running.source().stop();
        }
    }

    private boolean isDeleted(VpnNetwork network) {
        String uid = network.getMetadata().getUid();
        synchronized (deleted) {
            return uid != null && deleted.contains(uid);
        }
    }

    /** Stops sources whose network is gone (the sweep when the network informer starts). */
    public void retainOnly(Set<ResourceID> existing) {
        new ArrayList<>(sources.keySet()).stream().filter(id -> !existing.contains(id)).forEach(this::stop);
    }

    private void stop(ResourceID id) {
        Running old = sources.remove(id);
        if (old != null) {
            old.source().stop();
        }
    }

    /** A running source and the UID of the network object it was started for. */
    private record Running(String uid, ChainSource source) {
    }

    @PreDestroy
    void shutdown() {
        sources.values().forEach(r -> r.source().stop());
    }

    void reportHealth(VpnNetwork network, FollowerHealth h) {
        metrics.position(network.getMetadata().getNamespace(), network.getMetadata().getName(), h);
    }

    /**
     * The network's RPC URLs, checked without a DNS lookup (the follower checks resolved addresses before each
     * request). Messages name a URL by its position and source, never by its text: it may hold an API key.
     */
    private List<String> rpcUrls(VpnNetwork network, ChainAccess chain) {
        Secret secret = null;
        if (chain.rpcUrlsSecretRef != null) {
            try {
                secret = client.secrets().inNamespace(network.getMetadata().getNamespace()).withName(chain.rpcUrlsSecretRef.name).get();
            } catch (KubernetesClientException e) {
                if (e.getCode() != 403) {
                    throw e;
                }
                throw new IllegalArgumentException("the operator may not read Secret " + chain.rpcUrlsSecretRef.name
                        + " (its RBAC allows only the Secrets in the chart's operator.rpcSecretNames)");
            }
        }
        List<String> urls = new ArrayList<>();
        for (RpcUrlList.Entry e : RpcUrlList.of(chain, secret)) {
            String problem = RpcUrls.problem(e.url(), rpcSettings.limits().destinations());
            if (problem != null) {
                throw new IllegalArgumentException(e.source() + ": " + problem);
            }
            urls.add(e.url());
        }
        if (!urls.isEmpty() && urls.stream().allMatch(ChainSource::isWebSocket)) {
            throw new IllegalArgumentException("access.chain needs at least one http(s):// RPC URL for reads; ws(s):// URLs only carry"
                    + " the block subscription (docs/adr/0012-chain-subscriptions.md)");
        }
        return urls;
    }

    private Checkpoint loadCheckpoint(VpnNetwork network, ChainSourceKey key) {
        try {
            ConfigMap cm = client.configMaps().inNamespace(key.namespace()).withName(configMapName(key.network())).get();
            return cm == null ? null : CheckpointCodec.decode(cm.getData(), cm.getBinaryData(), key.chainId(), key.contract());
        } catch (RuntimeException e) {
            LOG.warnf("could not read the chain checkpoint of %s/%s (%s); syncing from block %d", key.namespace(), key.network(),
                    e.getMessage(), key.fromBlock());
            return null;
        }
    }

    private void saveCheckpoint(VpnNetwork network, ChainSourceKey key, Checkpoint checkpoint) {
        String stored = CheckpointCodec.encodeCompressed(checkpoint, key.chainId(), key.contract());
        if (stored.length() > CheckpointCodec.MAX_STORED_BYTES) {
            // Not an error to retry every few seconds: a restart then resumes from the last checkpoint that fit.
            LOG.warnf("the chain checkpoint of %s/%s is %d bytes compressed (%d tokens with history), over the %d-byte limit of"
                    + " one object: not saved; a restart resumes from the last saved one", key.namespace(), key.network(), stored.length(),
                    checkpoint.history().size(), CheckpointCodec.MAX_STORED_BYTES);
            return;
        }
        ConfigMap cm = new ConfigMapBuilder()
                .withNewMetadata().withName(configMapName(key.network())).withNamespace(key.namespace())
                .addToLabels(VpnLabels.NETWORK, key.network())
                .addToLabels(VpnLabels.COMPONENT, "chain-checkpoint")
                .addNewOwnerReference().withApiVersion(network.getApiVersion()).withKind(network.getKind())
                .withName(network.getMetadata().getName()).withUid(network.getMetadata().getUid()).endOwnerReference()
                .endMetadata()
                // Only binaryData: server-side apply drops the plain data key that earlier versions wrote under this manager.
                .withBinaryData(Map.of(CheckpointCodec.GZ_KEY, stored))
                .build();
        try {
            client.configMaps().inNamespace(key.namespace()).resource(cm).patch(new PatchContext.Builder()
                    .withPatchType(PatchType.SERVER_SIDE_APPLY).withFieldManager("dstack-vpn-chain").withForce(true).build());
        } catch (RuntimeException e) {
            // The next checkpoint retries; a lost one only means re-reading a few more blocks after a restart.
            LOG.warnf("could not save the chain checkpoint of %s/%s: %s", key.namespace(), key.network(), e.getMessage());
        }
    }
}
