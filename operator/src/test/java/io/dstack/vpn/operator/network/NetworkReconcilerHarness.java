package io.dstack.vpn.operator.network;

import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;

import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.peerset.StoredPeerSet;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerStatus;
import io.dstack.vpn.operator.Fixtures;
import io.dstack.vpn.operator.RecordedWrites;
import io.dstack.vpn.operator.access.ScriptedAccess;
import io.dstack.vpn.operator.chain.ChainSources;
import io.dstack.vpn.operator.peer.PeersByNetwork;
import io.dstack.vpn.operator.peerset.PeerSetSharder;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.NamespaceableResource;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.ResourceOperations;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.EventSourceRetriever;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * A {@link VpnNetworkReconciler} in the test JVM, against a mocked JOSDK {@link Context} over an in-memory namespace:
 * the network, its VpnPeers, the peer-set ConfigMaps (the informer cache) and every write of the last pass. A server-side
 * apply lands in the cache as JOSDK's {@code resourceOperations()} does; an address write lands in the peer's status.
 */
final class NetworkReconcilerHarness {
    static final String UID = "uid-net";

    final KubernetesSerialization serialization = new KubernetesSerialization();
    final ScriptedAccess access = new ScriptedAccess();
    final RecordedWrites.Statuses statuses = new RecordedWrites.Statuses();
    final RecordedWrites.Events events = new RecordedWrites.Events();
    final VpnNetworkReconciler reconciler = new VpnNetworkReconciler();

    VpnNetwork network = Fixtures.devNetwork();
    final List<VpnPeer> peers = new CopyOnWriteArrayList<>();
    /** The peer-set ConfigMaps as the informer holds them, by name. */
    final Map<String, ConfigMap> configMaps = new TreeMap<>();
    /** Names written by server-side apply in the last pass, in order. */
    final List<String> applied = new ArrayList<>();
    /** Names deleted in the last pass. */
    final List<String> deleted = new ArrayList<>();

    NetworkReconcilerHarness() {
        network.getMetadata().setUid(UID);
        network.getMetadata().setGeneration(1L);
        reconciler.membership = access.resolver();
        reconciler.statusApplier = statuses;
        reconciler.events = events;
        reconciler.metrics = new NetworkMetrics();
        reconciler.metrics.registry = new SimpleMeterRegistry();
        reconciler.serialization = serialization;
        reconciler.chainSources = new ChainSources();
    }

    /** Peer {@code name} with node id {@code node-<name>}; peers are created in the order they are added. */
    NetworkReconcilerHarness peer(String name) {
        VpnPeer p = Fixtures.peer(name, "node-" + name, Fixtures.KEY_A, Instant.parse("2026-01-01T00:00:00Z").plusSeconds(peers.size()).toString());
        p.setStatus(new VpnPeerStatus());
        peers.add(p);
        return this;
    }

    NetworkReconcilerHarness peers(String... names) {
        for (String n : names) {
            peer(n);
        }
        return this;
    }

    NetworkReconcilerHarness shardLimits(PeerSetSharder.Limits limits) {
        reconciler.shardLimits = limits;
        return this;
    }

    /** A ConfigMap in the cache that the operator did not write in this test (an older layout, a look-alike). */
    NetworkReconcilerHarness stored(ConfigMap cm) {
        configMaps.put(cm.getMetadata().getName(), cm);
        return this;
    }

    /** One pass, as JOSDK runs it: on a copy of the cached network, whose status takes a patched status. */
    UpdateControl<VpnNetwork> reconcile() {
        applied.clear();
        deleted.clear();
        statuses.writes.clear();
        UpdateControl<VpnNetwork> control = reconciler.reconcile(serialization.clone(network), context());
        if (control.isPatchStatus()) {
            network.setStatus(control.getResource().orElseThrow().getStatus());
        }
        // The address writes land in the peers' status, as the API server would report them back.
        statuses.writes.forEach(w -> peers.stream().filter(p -> p.getMetadata().getName().equals(w.name()))
                .forEach(p -> p.getStatus().address = (String) w.fields().get("address")));
        return control;
    }

    ErrorStatusUpdateControl<VpnNetwork> failed(Exception e) {
        ErrorStatusUpdateControl<VpnNetwork> control = reconciler.updateErrorStatus(serialization.clone(network), context(), e);
        control.getResource().ifPresent(n -> network.setStatus(n.getStatus()));
        return control;
    }

    /** What agents would read from the cache now. */
    StoredPeerSet storedSet() {
        return PeerSetConfigMap.read(network, configMaps.values());
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private Context<VpnNetwork> context() {
        Context<VpnNetwork> context = mock(Context.class);
        when(context.getSecondaryResourcesAsStream(ConfigMap.class)).thenAnswer(i -> List.copyOf(configMaps.values()).stream());

        InformerEventSource<VpnPeer, VpnNetwork> peerSource = mock(InformerEventSource.class);
        when(peerSource.byIndex(eq(PeersByNetwork.INDEX), anyString())).thenAnswer(i -> List.copyOf(peers));
        EventSourceRetriever<VpnNetwork> retriever = mock(EventSourceRetriever.class);
        when(retriever.getEventSourceFor(VpnPeer.class, VpnNetworkReconciler.PEERS_SOURCE)).thenReturn((EventSource) peerSource);
        when(context.eventSourceRetriever()).thenReturn(retriever);

        ResourceOperations<VpnNetwork> operations = mock(ResourceOperations.class);
        when(operations.serverSideApply(any(ConfigMap.class))).thenAnswer(i -> {
            ConfigMap cm = i.getArgument(0);
            applied.add(cm.getMetadata().getName());
            configMaps.put(cm.getMetadata().getName(), cm);
            return cm;
        });
        when(context.resourceOperations()).thenReturn(operations);

        KubernetesClient client = mock(KubernetesClient.class);
        when(client.resource(any(ConfigMap.class))).thenAnswer(i -> {
            ConfigMap cm = i.getArgument(0);
            NamespaceableResource<ConfigMap> resource = mock(NamespaceableResource.class);
            when(resource.delete()).thenAnswer(d -> {
                deleted.add(cm.getMetadata().getName());
                configMaps.remove(cm.getMetadata().getName());
                return List.of();
            });
            return resource;
        });
        when(context.getClient()).thenReturn(client);
        return context;
    }

    /** A peer-set-labelled ConfigMap of this network; owned by it when {@code ownerUid} is its UID. */
    static ConfigMap labelled(String name, String ownerUid) {
        var b = new io.fabric8.kubernetes.api.model.ConfigMapBuilder().withNewMetadata().withName(name).withNamespace("ns")
                .addToLabels(VpnLabels.NETWORK, "net").addToLabels(VpnLabels.COMPONENT, VpnLabels.COMPONENT_PEERSET);
        if (ownerUid != null) {
            b = b.addNewOwnerReference().withApiVersion("vpn.dstack.io/v1alpha1").withKind("VpnNetwork").withName("net")
                    .withUid(ownerUid).withController(true).endOwnerReference();
        }
        return b.endMetadata().withData(Map.of("peers.json", "{}")).build();
    }
}
