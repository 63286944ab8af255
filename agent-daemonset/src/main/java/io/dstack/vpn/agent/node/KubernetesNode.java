package io.dstack.vpn.agent.node;

import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

/**
 * The Kubernetes Node an agent runs on, read once at start: its labels (node id, transport) and the owner
 * reference that ties the node's VpnPeer to it, so that deleting the Node garbage-collects the VpnPeer and the
 * operator frees its address.
 */
public final class KubernetesNode {
    private static final Logger LOG = LoggerFactory.getLogger(KubernetesNode.class);

    private KubernetesNode() {
    }

    /** The node, or empty when there is none (outside Kubernetes) or it cannot be read (then the VpnPeer has no owner). */
    public static Optional<Node> read(KubernetesClient client, String nodeName) {
        if (nodeName == null || nodeName.isBlank()) {
            return Optional.empty();
        }
        try {
            return Optional.ofNullable(client.nodes().withName(nodeName).get());
        } catch (KubernetesClientException e) {
            // Older charts granted no 'get nodes': the agent still works, but its VpnPeer outlives a deleted Node.
            LOG.warn("cannot read node {} (HTTP {}): the VpnPeer gets no owner and is not removed with the node", nodeName, e.getCode());
            return Optional.empty();
        }
    }

    /**
     * A plain owner reference: neither controller nor blockOwnerDeletion, which would need update rights on
     * nodes/finalizers and would hold up the node's deletion for a VpnPeer.
     */
    public static OwnerReference ownerReference(Node node) {
        return new OwnerReferenceBuilder().withApiVersion("v1").withKind("Node")
                .withName(node.getMetadata().getName()).withUid(node.getMetadata().getUid()).build();
    }

    /** The value of one of the node's labels, or null. */
    public static String label(Optional<Node> node, String label) {
        return node.map(n -> n.getMetadata().getLabels()).map(labels -> labels.get(label)).orElse(null);
    }
}
