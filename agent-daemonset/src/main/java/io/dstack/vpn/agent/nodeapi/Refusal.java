package io.dstack.vpn.agent.nodeapi;

/**
 * Why the node API refused a request: the status code and the machine-readable reason in the body
 * ({@code {"reason":…,"message":…}}). Messages never quote a header value, a key or a MAC.
 */
record Refusal(int status, String reason, String message) {
    static final String NOT_A_MEMBER = "NotAMember";
    static final String KEY_MISMATCH = "KeyMismatch";
    static final String BAD_PROOF = "BadProof";
    static final String STALE_NONCE = "StaleNonce";
    static final String NOT_YOUR_PEER = "NotYourPeer";
    static final String NOT_OUTSIDE_NODE = "NotOutsideNode";
    static final String PEER_MISMATCH = "PeerMismatch";
    static final String NO_SUCH_PEER = "NoSuchPeer";
    static final String BAD_STATUS = "BadStatus";
    static final String BAD_REQUEST = "BadRequest";
    static final String UNKNOWN_NAMESPACE = "UnknownNamespace";
    static final String UNKNOWN_NETWORK = "UnknownNetwork";
    static final String NO_PEER_SET = "NoPeerSet";
    static final String NOT_FOUND = "NotFound";
    static final String METHOD_NOT_ALLOWED = "MethodNotAllowed";
    static final String REPLACED = "Replaced";
    static final String RATE_LIMITED = "RateLimited";
    static final String BUSY = "Busy";
    static final String UNAVAILABLE = "Unavailable";

    static Refusal forbidden(String reason, String message) {
        return new Refusal(403, reason, message);
    }
}
