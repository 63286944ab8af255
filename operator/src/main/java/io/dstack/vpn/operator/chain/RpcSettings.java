package io.dstack.vpn.operator.chain;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.dstack.vpn.chain.rpc.RpcDestinations;
import io.dstack.vpn.chain.rpc.RpcLimits;

/**
 * Operator-level limits on the RPC endpoints that VpnNetworks name (docs/adr/0010-rpc-destinations.md). They are
 * operator settings, not VpnNetwork fields, because whoever writes a VpnNetwork is who they protect against.
 */
@ApplicationScoped
public class RpcSettings {
    @Inject
    @ConfigProperty(name = "dstack.chain.rpc-allow")
    Optional<List<String>> allow;

    @Inject
    @ConfigProperty(name = "dstack.chain.rpc-deny")
    Optional<List<String>> deny;

    @Inject
    @ConfigProperty(name = "dstack.chain.rpc-max-body-bytes", defaultValue = "16777216")
    long maxBodyBytes;

    /** Per request, body included: a network's poll fails over (or fails) instead of waiting on a slow endpoint. */
    @Inject
    @ConfigProperty(name = "dstack.chain.rpc-deadline", defaultValue = "3s")
    Duration deadline;

    private volatile RpcLimits limits;

    /** Fails at first use (the first chain network's reconcile, and the operator's log) on a bad allow-list entry. */
    public RpcLimits limits() {
        RpcLimits l = limits;
        if (l == null) {
            l = new RpcLimits(deadline, maxBodyBytes, RpcDestinations.denyInternal(allow.orElse(List.of()), deny.orElse(List.of())));
            limits = l;
        }
        return l;
    }
}
