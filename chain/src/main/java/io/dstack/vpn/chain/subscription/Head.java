package io.dstack.vpn.chain.subscription;

import com.fasterxml.jackson.databind.JsonNode;

import io.dstack.vpn.chain.contract.Hex;

/**
 * A new block header as a {@code newHeads} notification announces it, checked: the endpoint is untrusted.
 *
 * @param number     block number
 * @param hash       block hash (0x and 64 hex digits, as received)
 * @param parentHash the parent's hash, which links this head to the one before
 * @param timestamp  block time in seconds since the epoch
 */
public record Head(long number, String hash, String parentHash, long timestamp) {

    /**
     * Reads a {@code newHeads} result.
     *
     * @throws IllegalArgumentException naming the bad field, with its value shown short and clean
     */
    public static Head parse(JsonNode result) {
        if (result == null || !result.isObject()) {
            throw new IllegalArgumentException("head that is not an object");
        }
        return new Head(quantity(result, "number"), hash(result, "hash"), hash(result, "parentHash"), quantity(result, "timestamp"));
    }

    private static long quantity(JsonNode head, String field) {
        String value = text(head, field);
        if (!Hex.isQuantity(value)) {
            throw new IllegalArgumentException("head with a malformed " + field + " " + Hex.shown(value));
        }
        return Hex.quantity(value);
    }

    private static String hash(JsonNode head, String field) {
        String value = text(head, field);
        if (!Hex.isHash(value)) {
            throw new IllegalArgumentException("head with a malformed " + field + " " + Hex.shown(value));
        }
        return value;
    }

    private static String text(JsonNode node, String field) {
        JsonNode v = node.get(field);
        return v == null || !v.isTextual() ? null : v.asText();
    }
}
