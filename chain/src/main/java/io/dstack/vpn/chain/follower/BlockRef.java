package io.dstack.vpn.chain.follower;

/** A block by number and hash; parentHash when known. */
public record BlockRef(long number, String hash, String parentHash) {
}
