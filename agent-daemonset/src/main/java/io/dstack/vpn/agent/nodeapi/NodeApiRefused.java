package io.dstack.vpn.agent.nodeapi;

import java.io.IOException;

/**
 * The node API refused a request with a reason: {@code NotAMember} (not admitted yet, suspended or revoked: wait),
 * {@code KeyMismatch}, {@code BadProof}, {@code StaleNonce}, {@code Replaced}, {@code NoPeerSet}, … (ADR 0015 lists
 * them all). The message is the server's, cleaned and bounded.
 */
public final class NodeApiRefused extends IOException {
    private final int status;
    private final String reason;

    public NodeApiRefused(int status, String reason, String message) {
        super("node API refused (HTTP " + status + " " + reason + "): " + message);
        this.status = status;
        this.reason = reason;
    }

    /** Not in the peer set: not admitted yet, suspended or revoked; the node waits and asks again. */
    public boolean notAMember() {
        return Refusal.NOT_A_MEMBER.equals(reason);
    }

    public String reason() {
        return reason;
    }

    public int status() {
        return status;
    }
}
