package io.dstack.vpn.operator.access;

import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.api.v1alpha1.VpnPeerStatus;

/**
 * What an access source says about one peer, and why. {@code token} is filled by sources that have one.
 *
 * @param reason a CamelCase word for conditions and events, e.g. Admitted, NotInAllowList, KeyMismatch
 */
public record AccessDecision(VpnPeerPhase phase, String reason, String message, VpnPeerStatus.TokenRef token) {

    public static AccessDecision of(VpnPeerPhase phase, String reason, String message) {
        return new AccessDecision(phase, reason, message, null);
    }

    public boolean admitted() {
        return phase == VpnPeerPhase.Active;
    }
}
