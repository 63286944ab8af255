package io.dstack.vpn.chain.follower;

import java.math.BigInteger;
import java.util.Collection;
import java.util.List;

import io.dstack.vpn.chain.contract.AccessEvent;

/**
 * What the follower reads from the chain. Answers come from an untrusted endpoint, so an implementation checks them
 * before returning: blocks well-formed ({@link BlockRef#wellFormed}) and the ones asked for, logs of the contract and
 * blocks asked for ({@link io.dstack.vpn.chain.contract.LogCheck}). A failure is an
 * {@link io.dstack.vpn.chain.rpc.RpcException}.
 */
public interface ChainReads {
    /** The chain id the endpoint serves. */
    long chainId();

    /** The newest block. */
    BlockRef latestBlock();

    /** Block {@code number} of the chain the endpoint considers canonical now. */
    BlockRef block(long number);

    /** The contract's logs of this block, asked for by hash, decoded in chain order; a log that fails the checks comes as Malformed. */
    List<AccessEvent> logsOf(BlockRef block);

    /** The contract's logs of blocks {@code from..to}, decoded in chain order; a log that fails the checks comes as Malformed. */
    List<AccessEvent> logsBetween(long from, long to);

    /** The tokens' state at {@code block}, in batched reads. */
    TokenSnapshot tokensAt(Collection<BigInteger> ids, long block);
}
