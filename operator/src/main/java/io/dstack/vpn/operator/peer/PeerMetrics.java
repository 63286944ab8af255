package io.dstack.vpn.operator.peer;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.micrometer.core.instrument.MeterRegistry;

/** Counts admission transitions, by the phase a peer moved to. */
@ApplicationScoped
public class PeerMetrics {
    @Inject
    MeterRegistry registry;

    public void transition(String namespace, String network, VpnPeerPhase to) {
        registry.counter("dstack_vpn_peer_phase_transitions_total", "namespace", namespace, "network", network,
                "phase", to.name()).increment();
    }
}
