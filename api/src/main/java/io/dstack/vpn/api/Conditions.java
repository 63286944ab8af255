package io.dstack.vpn.api;

/** Condition types and reasons used in VpnNetwork and VpnPeer status. */
public final class Conditions {
    public static final String TRUE = "True";
    public static final String FALSE = "False";
    public static final String UNKNOWN = "Unknown";

    /** Network: the peer set is rendered, and every admitted peer has an address. */
    public static final String READY = "Ready";
    /** Network: the spec is usable (beyond what the API server can check). */
    public static final String SPEC_VALID = "SpecValid";
    /** Network: the address pool still has room for every peer that needs one. */
    public static final String ADDRESS_POOL_AVAILABLE = "AddressPoolAvailable";
    /** Network: the rendered peer set fits into one object. */
    public static final String PEER_SET_RENDERED = "PeerSetRendered";
    /** Network (chain source): the follower finished its first sync and is not stopped by a fatal error. */
    public static final String CHAIN_SYNCED = "ChainSynced";
    /** Network (chain source): the last poll reached an RPC endpoint. False during outages. */
    public static final String CHAIN_REACHABLE = "ChainReachable";
    /** Network (chain source): no unusable tokens, duplicate active node ids or undecodable logs. */
    public static final String CHAIN_DATA_VALID = "ChainDataValid";
    /** Peer: the access source admits this node id with this key. */
    public static final String ADMITTED = "Admitted";
    /** Peer (written by the node's agent): the newest peer set is applied to the node's WireGuard device. */
    public static final String APPLIED = "Applied";

    private Conditions() {
    }
}
