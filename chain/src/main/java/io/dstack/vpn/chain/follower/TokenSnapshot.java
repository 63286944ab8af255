package io.dstack.vpn.chain.follower;

import java.math.BigInteger;
import java.util.List;

import io.dstack.vpn.chain.contract.AccessContract.TokenState;

/**
 * Tokens read at one block.
 *
 * @param states   tokens that exist there
 * @param missing  tokens that do not exist there (never minted yet, or burned)
 * @param problems tokens whose state could not be decoded, described for the registry's problem list
 */
public record TokenSnapshot(List<TokenState> states, List<BigInteger> missing, List<String> problems) {
}
