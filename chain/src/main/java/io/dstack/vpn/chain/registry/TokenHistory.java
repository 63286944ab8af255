package io.dstack.vpn.chain.registry;

/** The parts of a token's record that only its logs tell, kept in the checkpoint. */
public record TokenHistory(long grantedAt, String ownerAtGrant, long keyBoundAt, long transferredAt) {
}
