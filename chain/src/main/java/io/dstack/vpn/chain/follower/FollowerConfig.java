package io.dstack.vpn.chain.follower;

import java.time.Duration;

/**
 * @param fromBlock       first block to read logs from when there is no checkpoint (the deployment block)
 * @param initialRange    blocks per eth_getLogs request at first; halved on "range too large", doubled on success
 * @param resyncInterval  how often the logs since the previous resync are read again and the tokens they name re-read
 *                        at a pinned block; one resync in {@link ResyncRange#FULL_EVERY} re-reads every known token
 * @param batchSize       calls per JSON-RPC batch for token reads
 * @param reorgWindow     how many recent block hashes are kept to find a common ancestor
 */
public record FollowerConfig(String contractAddress, long expectedChainId, long fromBlock, long initialRange, long maxRange,
        Duration pollInterval, Duration resyncInterval, int batchSize, int reorgWindow) {

    public static FollowerConfig of(String contractAddress, long chainId, long fromBlock, Duration pollInterval, Duration resyncInterval) {
        return new FollowerConfig(contractAddress.toLowerCase(), chainId, fromBlock, 5_000, 50_000, pollInterval, resyncInterval, 250, 256);
    }
}
