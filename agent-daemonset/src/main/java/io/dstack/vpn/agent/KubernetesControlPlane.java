package io.dstack.vpn.agent;

import java.util.Map;

import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

/** The agent in a cluster: its VpnPeer spec and status by server-side apply, the peer set through an informer. */
final class KubernetesControlPlane implements ControlPlane {
    private final KubernetesClient client;
    private final AgentConfig config;
    private final PeerPublisher publisher;

    /** @param nodeOwner ties the VpnPeer to this node's Node object (garbage collection); null if none */
    KubernetesControlPlane(KubernetesClient client, AgentConfig config, OwnerReference nodeOwner) {
        this.client = client;
        this.config = config;
        this.publisher = new PeerPublisher(client, config, nodeOwner);
    }

    @Override
    public void publish(String publicKey) {
        publisher.publish(publicKey);
    }

    @Override
    public void watch(PeerSetWatcher watcher) {
        watcher.start(client, config);
    }

    @Override
    public StatusWriter statusWriter() {
        return status -> {
            Map<String, Object> body = Map.of("apiVersion", HasMetadata.getApiVersion(VpnPeer.class), "kind", HasMetadata.getKind(VpnPeer.class),
                    "metadata", Map.of("name", config.peerName(), "namespace", config.namespace()), "status", status);
            client.resources(VpnPeer.class).inNamespace(config.namespace()).withName(config.peerName()).subresource("status")
                    .patch(new PatchContext.Builder().withPatchType(PatchType.SERVER_SIDE_APPLY)
                            .withFieldManager(VpnLabels.FIELD_MANAGER_AGENT).withForce(true).build(),
                            client.getKubernetesSerialization().asJson(body));
        };
    }

    @Override
    public void close() {
        client.close();
    }
}
