package io.dstack.vpn.agent.nodeapi;

import java.util.LinkedHashMap;
import java.util.Map;

import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerStatus;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;

/**
 * Writes an outside node's status into VpnPeer {@code <network>-<nodeId>} as the in-cluster agent would (server-side
 * apply, field manager {@code dstack-vpn-agent}, only {@code applied} and {@code Applied}), and only when that
 * VpnPeer is the node's: its spec names this network, node id and key, and no Kubernetes node. The VpnPeer's
 * resourceVersion rides along as a precondition, so a spec changed between the check and the write is caught (and
 * checked again).
 */
final class PeerStatusWriter {
    private static final int ATTEMPTS = 3;

    private final KubernetesClient client;
    private final String namespace;

    PeerStatusWriter(KubernetesClient client, String namespace) {
        this.client = client;
        this.namespace = namespace;
    }

    /** Null when written; else why not. */
    Refusal write(String network, String nodeId, WireGuardKey nodeKey, VpnPeerStatus status) {
        String name = network + "-" + nodeId;
        for (int attempt = 1;; attempt++) {
            VpnPeer peer;
            try {
                peer = client.resources(VpnPeer.class).inNamespace(namespace).withName(name).get();
            } catch (KubernetesClientException e) {
                return new Refusal(503, Refusal.UNAVAILABLE, "could not read VpnPeer " + name + " (HTTP " + e.getCode() + "); try again");
            }
            Refusal refusal = check(peer, name, network, nodeId, nodeKey);
            if (refusal != null) {
                return refusal;
            }
            Map<String, Object> metadata = new LinkedHashMap<>();
            metadata.put("name", name);
            metadata.put("namespace", namespace);
            metadata.put("resourceVersion", peer.getMetadata().getResourceVersion());
            Map<String, Object> body = Map.of("apiVersion", HasMetadata.getApiVersion(VpnPeer.class), "kind", HasMetadata.getKind(VpnPeer.class),
                    "metadata", metadata, "status", status);
            try {
                client.resources(VpnPeer.class).inNamespace(namespace).withName(name).subresource("status")
                        .patch(new PatchContext.Builder().withPatchType(PatchType.SERVER_SIDE_APPLY)
                                .withFieldManager(VpnLabels.FIELD_MANAGER_AGENT).withForce(true).build(),
                                client.getKubernetesSerialization().asJson(body));
                return null;
            } catch (KubernetesClientException e) {
                if (e.getCode() == 409 && attempt < ATTEMPTS) {
                    continue; // changed since we read it: check the spec again
                }
                if (e.getCode() == 409) {
                    return new Refusal(409, "Conflict", "VpnPeer " + name + " keeps changing; try again");
                }
                if (e.getCode() == 422 || e.getCode() == 400) {
                    return new Refusal(400, Refusal.BAD_STATUS, "the API server refused the status (HTTP " + e.getCode() + ")");
                }
                return new Refusal(503, Refusal.UNAVAILABLE, "could not write VpnPeer " + name + " (HTTP " + e.getCode() + "); try again");
            }
        }
    }

    static Refusal check(VpnPeer peer, String name, String network, String nodeId, WireGuardKey nodeKey) {
        if (peer == null || peer.getSpec() == null) {
            return new Refusal(404, Refusal.NO_SUCH_PEER, "there is no VpnPeer " + name + " to write the status of");
        }
        if (peer.getSpec().nodeName != null && !peer.getSpec().nodeName.isEmpty()) {
            return Refusal.forbidden(Refusal.NOT_OUTSIDE_NODE, "VpnPeer " + name + " belongs to a Kubernetes node: its in-cluster agent writes its status");
        }
        if (!nodeId.equals(peer.getSpec().nodeId) || !network.equals(peer.getSpec().network)) {
            return Refusal.forbidden(Refusal.PEER_MISMATCH, "VpnPeer " + name + " is not node " + nodeId + " of network " + network);
        }
        if (!WireGuardKey.isValid(peer.getSpec().publicKey) || !WireGuardKey.parse(peer.getSpec().publicKey).equals(nodeKey)) {
            return Refusal.forbidden(Refusal.KEY_MISMATCH, "VpnPeer " + name + " names another public key than the one this request proved");
        }
        return null;
    }
}
