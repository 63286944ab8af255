package io.dstack.vpn.api.v1alpha1;

/** Where a peer stands with its access source. Only Active peers are rendered into the peer set. */
public enum VpnPeerPhase {
    /** Not (yet) admitted: no token binds this node id to this key, or it waits for confirmations. */
    Pending,
    /** Admitted: every node adds it. */
    Active,
    /** Temporarily out (token transferred under the Suspend policy, or a chain-outage grace period ran out). */
    Suspended,
    /** The token that admitted it was revoked. */
    Revoked,
    /** The access source refuses it for good (e.g. its node id is bound to a different key). */
    Denied
}
