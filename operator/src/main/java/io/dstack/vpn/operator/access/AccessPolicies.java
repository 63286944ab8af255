package io.dstack.vpn.operator.access;

import jakarta.enterprise.context.ApplicationScoped;

import io.dstack.vpn.api.v1alpha1.VpnNetwork;

/** Picks the access source a VpnNetwork asks for. */
@ApplicationScoped
public class AccessPolicies {
    private final AccessPolicy devAllowList = new DevAllowListPolicy();
    private final AccessPolicy chain = new ChainSourceNotConnectedPolicy();

    public AccessPolicy forNetwork(VpnNetwork network) {
        var access = network.getSpec().access;
        return access != null && access.devAllowList != null ? devAllowList : chain;
    }
}
