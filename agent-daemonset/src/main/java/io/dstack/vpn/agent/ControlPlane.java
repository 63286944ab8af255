package io.dstack.vpn.agent;

/**
 * What the agent talks to besides its device: where it announces its key, where its peer set comes from and where
 * its status goes. In a cluster that is the API server ({@link KubernetesControlPlane}); on a node outside
 * Kubernetes it is the node API, authenticated by the node's WireGuard key ({@link NodeApiControlPlane}, ADR 0015).
 */
interface ControlPlane extends AutoCloseable {

    /** Announces this node's public key (in a cluster: the VpnPeer spec); a standalone node's is the CLI's to write. */
    void publish(String publicKey);

    /** Starts delivering peer-set objects to the watcher, each as the operator stored it. */
    void watch(PeerSetWatcher watcher);

    StatusWriter statusWriter();

    @Override
    void close();
}
