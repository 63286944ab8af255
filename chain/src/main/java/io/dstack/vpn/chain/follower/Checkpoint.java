package io.dstack.vpn.chain.follower;

import java.math.BigInteger;
import java.util.SortedSet;

/**
 * Where the follower stands: the last processed block and the ids of the tokens it knows. With it, a
 * restarted follower reloads those tokens at that block (batched reads) and continues with the logs after
 * it, instead of scanning from the contract's first block again.
 */
public record Checkpoint(long block, String hash, SortedSet<BigInteger> tokenIds) {
}
