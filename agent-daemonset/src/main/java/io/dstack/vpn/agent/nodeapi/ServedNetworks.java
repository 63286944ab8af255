package io.dstack.vpn.agent.nodeapi;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import io.dstack.vpn.api.VpnLabels;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.FilterWatchListDeletable;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;

/**
 * The networks one node API serves, in one namespace: those configured, or every network whose peer set appears in
 * the namespace. One informer over the namespace's peer-set ConfigMaps (by label, as agents read them; narrowed to
 * the configured networks with a set-based selector) feeds one {@link PeerSetMirror} per network; its rights are
 * the agent's (list and watch ConfigMaps), nothing per network or per node.
 */
final class ServedNetworks implements AutoCloseable {
    private final String namespace;
    /** Empty: every network of the namespace. */
    private final Set<String> configured;
    private final Map<String, PeerSetMirror> mirrors = new ConcurrentHashMap<>();
    private SharedIndexInformer<ConfigMap> informer;

    ServedNetworks(String namespace, Set<String> networks) {
        this.namespace = namespace;
        this.configured = Set.copyOf(networks);
    }

    String namespace() {
        return namespace;
    }

    boolean serves(String network) {
        return configured.isEmpty() || configured.contains(network);
    }

    void start(KubernetesClient client) {
        FilterWatchListDeletable<ConfigMap, ?, ?> selected = client.configMaps().inNamespace(namespace)
                .withLabel(VpnLabels.COMPONENT, VpnLabels.COMPONENT_PEERSET);
        if (!configured.isEmpty()) {
            selected = selected.withLabelIn(VpnLabels.NETWORK, configured.toArray(String[]::new));
        }
        informer = selected.inform(new ResourceEventHandler<>() {
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

    /** Whether the informer has listed once (readiness). */
    boolean synced() {
        return informer != null && informer.hasSynced();
    }

    void received(ConfigMap cm) {
        String network = networkOf(cm);
        if (network != null) {
            mirrors.computeIfAbsent(network, PeerSetMirror::new).received(cm);
        }
    }

    void deleted(ConfigMap cm) {
        String network = networkOf(cm);
        PeerSetMirror mirror = network == null ? null : mirrors.get(network);
        if (mirror != null) {
            mirror.deleted(cm);
        }
    }

    /** The network's mirror; null when it is not served or no peer-set object of it was seen. */
    PeerSetMirror mirror(String network) {
        return serves(network) ? mirrors.get(network) : null;
    }

    private String networkOf(ConfigMap cm) {
        Map<String, String> labels = cm.getMetadata().getLabels();
        String network = labels == null ? null : labels.get(VpnLabels.NETWORK);
        return network != null && serves(network) && namespace.equals(cm.getMetadata().getNamespace()) ? network : null;
    }

    @Override
    public void close() {
        if (informer != null) {
            informer.close();
        }
    }
}
