package io.dstack.vpn.operator.access;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.operator.chain.ChainAccessPolicy;
import io.dstack.vpn.operator.chain.ChainSources;

/** Picks the access source a VpnNetwork asks for. */
@ApplicationScoped
public class AccessPolicies {
    private final AccessPolicy devAllowList = new DevAllowListPolicy();
    private final AccessPolicy chain;

    /** For unit tests: a chain source registry with no running source (every chain decision is "not synced"). */
    public AccessPolicies() {
        this(new ChainSources());
    }

    @Inject
    AccessPolicies(ChainSources sources) {
        this.chain = new ChainAccessPolicy(sources);
    }

    public AccessPolicy forNetwork(VpnNetwork network) {
        var access = network.getSpec().access;
        return access != null && access.devAllowList != null ? devAllowList : chain;
    }
}
