package io.dstack.vpn.operator.access;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;

/**
 * An access source whose decisions a test sets per node id (unset: Active), behind the real
 * {@link MembershipResolver} so its one-holder-per-node-id rule still applies.
 */
public final class ScriptedAccess implements AccessPolicy {
    private final Map<String, VpnPeerPhase> phases = new ConcurrentHashMap<>();
    private volatile boolean ready = true;

    public ScriptedAccess phase(String nodeId, VpnPeerPhase phase) {
        phases.put(nodeId, phase);
        return this;
    }

    public ScriptedAccess ready(boolean ready) {
        this.ready = ready;
        return this;
    }

    public MembershipResolver resolver() {
        ScriptedAccess self = this;
        return new MembershipResolver(new AccessPolicies() {
            @Override
            public AccessPolicy forNetwork(VpnNetwork network) {
                return self;
            }
        });
    }

    @Override
    public AccessDecision decide(VpnNetwork network, VpnPeer peer) {
        VpnPeerPhase phase = phases.getOrDefault(peer.getSpec().nodeId, VpnPeerPhase.Active);
        return AccessDecision.of(phase, "Scripted" + phase, "node " + peer.getSpec().nodeId + " is " + phase);
    }

    @Override
    public boolean ready(VpnNetwork network) {
        return ready;
    }

    @Override
    public String sourceName() {
        return "scripted";
    }
}
