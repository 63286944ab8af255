package io.dstack.vpn.chain.follower;

import java.math.BigInteger;
import java.util.Map;
import java.util.SortedSet;

import io.dstack.vpn.chain.registry.TokenHistory;

/**
 * Where the follower stands: the last processed block, the ids of the tokens it knows, and the history the
 * contract cannot tell again (who a token was minted to, when it was granted, transferred or re-keyed) for
 * the tokens where that still matters: transferred ones, and ones too young to count as confirmed. With it
 * a restarted follower reloads those tokens at that block (batched reads) and continues with the logs after
 * it, instead of scanning from the contract's first block again, and decides exactly as before.
 */
public record Checkpoint(long block, String hash, SortedSet<BigInteger> tokenIds, Map<BigInteger, TokenHistory> history) {
}
