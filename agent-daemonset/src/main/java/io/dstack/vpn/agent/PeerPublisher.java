package io.dstack.vpn.agent;

import java.util.List;

import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerSpec;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

/** Creates or updates this node's VpnPeer spec (server-side apply: only the fields the agent owns). */
final class PeerPublisher {
    private final KubernetesClient client;
    private final AgentConfig config;
    /** Ties the VpnPeer to this node's Node object (garbage collection); null outside Kubernetes. */
    private final OwnerReference nodeOwner;

    PeerPublisher(KubernetesClient client, AgentConfig config, OwnerReference nodeOwner) {
        this.client = client;
        this.config = config;
        this.nodeOwner = nodeOwner;
    }

    void publish(String publicKey) {
        client.resource(peer(config, nodeOwner, publicKey)).inNamespace(config.namespace())
                .patch(new PatchContext.Builder().withPatchType(PatchType.SERVER_SIDE_APPLY)
                        .withFieldManager(VpnLabels.FIELD_MANAGER_AGENT).withForce(true).build());
    }

    static VpnPeer peer(AgentConfig config, OwnerReference nodeOwner, String publicKey) {
        VpnPeer peer = new VpnPeer();
        peer.setMetadata(new ObjectMetaBuilder().withName(config.peerName())
                .withNamespace(config.namespace()).addToLabels(VpnLabels.NETWORK, config.network()).build());
        if (nodeOwner != null) {
            peer.getMetadata().setOwnerReferences(List.of(nodeOwner));
        }
        peer.setSpec(new VpnPeerSpec());
        peer.getSpec().network = config.network();
        peer.getSpec().nodeId = config.nodeId();
        peer.getSpec().publicKey = publicKey;
        peer.getSpec().endpoint = config.endpoint();
        peer.getSpec().nodeName = config.nodeName();
        peer.getSpec().transport = VpnPeerSpec.Transport.valueOf(config.transport());
        return peer;
    }
}
