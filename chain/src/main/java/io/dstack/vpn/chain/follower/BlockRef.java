package io.dstack.vpn.chain.follower;

import java.util.Locale;

import com.fasterxml.jackson.databind.JsonNode;

import io.dstack.vpn.chain.contract.Hex;
import io.dstack.vpn.chain.rpc.RpcException;

/**
 * A block by number and hash; parentHash when known; timestamp in seconds, or {@link #UNKNOWN_TIME}.
 */
public record BlockRef(long number, String hash, String parentHash, long timestamp) {
    /** The timestamp of a block whose time is not known (a checkpoint; an endpoint that leaves it out). */
    public static final long UNKNOWN_TIME = -1;

    /**
     * A block as {@code eth_getBlockByNumber} and {@code eth_subscribe("newHeads")} send it, from an untrusted
     * endpoint: number, hash and parentHash must be well-formed hex; a timestamp may be missing but not malformed.
     *
     * @param what the block asked for, shown in errors ({@code latest}, {@code 0x1f})
     * @throws RpcException (retryable) when the block is missing or malformed
     */
    public static BlockRef fromJson(JsonNode block, String what) {
        if (block == null || block.isNull()) {
            throw new RpcException("block " + what + " not found", true, null, null);
        }
        String number = block.path("number").asText(null);
        String hash = block.path("hash").asText(null);
        String parent = block.path("parentHash").asText(null);
        String time = block.path("timestamp").asText(null);
        if (!Hex.isQuantity(number) || time != null && !Hex.isQuantity(time)) {
            throw malformed(what, Hex.shown(number), hash, parent, Hex.shown(time));
        }
        return new BlockRef(Hex.quantity(number), hash, parent, time == null ? UNKNOWN_TIME : Hex.quantity(time)).wellFormed(what);
    }

    /**
     * This block with hashes in lower case, if it would pass as an answer of the RPC; a head that came another way
     * (a newHeads notification) gets the same checks.
     *
     * @throws RpcException (retryable) when a field is malformed
     */
    public BlockRef wellFormed(String what) {
        if (number < 0 || !Hex.isHash(hash) || !Hex.isHash(parentHash) || timestamp < UNKNOWN_TIME) {
            throw malformed(what, Long.toString(number), hash, parentHash, Long.toString(timestamp));
        }
        return new BlockRef(number, hash.toLowerCase(Locale.ROOT), parentHash.toLowerCase(Locale.ROOT), timestamp);
    }

    private static RpcException malformed(String what, String number, String hash, String parent, String time) {
        return new RpcException("malformed block " + what + ": number " + number + ", hash " + Hex.shown(hash)
                + ", parentHash " + Hex.shown(parent) + ", timestamp " + time, true, null, null);
    }
}
