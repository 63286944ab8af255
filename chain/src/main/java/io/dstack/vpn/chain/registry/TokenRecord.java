package io.dstack.vpn.chain.registry;

import java.math.BigInteger;

/**
 * What the chain says about one access token, as the follower last saw it.
 *
 * @param grantedAt      block of the grant (mint) — confirmations count from here
 * @param ownerAtGrant   the owner the token was minted to (a transfer is a change of this)
 * @param keyBoundAt     block at which the current key was bound (grant or last rotation)
 * @param transferredAt  block of the last owner-to-owner transfer, or -1
 * @param problem        why the token's data is unusable (bad key, bad node id, duplicate), or null
 */
public record TokenRecord(BigInteger tokenId, String nodeId, String publicKey, String owner, boolean active,
        long grantedAt, String ownerAtGrant, long keyBoundAt, long transferredAt, long changedAt, String problem) {

    public boolean transferred() {
        return owner != null && ownerAtGrant != null && !owner.equalsIgnoreCase(ownerAtGrant);
    }

    public boolean valid() {
        return problem == null;
    }

    TokenRecord with(String publicKey, String owner, boolean active, long keyBoundAt, long transferredAt, long changedAt, String problem) {
        return new TokenRecord(tokenId, nodeId, publicKey, owner, active, grantedAt, ownerAtGrant, keyBoundAt, transferredAt, changedAt, problem);
    }
}
