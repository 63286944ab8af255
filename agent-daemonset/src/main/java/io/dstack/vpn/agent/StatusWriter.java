package io.dstack.vpn.agent;

import io.dstack.vpn.api.v1alpha1.VpnPeerStatus;

/**
 * Where this node's part of its VpnPeer status goes: the API server for an agent in the cluster
 * ({@link KubernetesControlPlane}), the node API for a standalone node ({@link NodeApiControlPlane}).
 * A failure is a RuntimeException; the reporter logs it and the drift check reports again.
 */
interface StatusWriter {

    /** @param status only the agent's fields: {@code applied} and the {@code Applied} condition */
    void write(VpnPeerStatus status);
}
