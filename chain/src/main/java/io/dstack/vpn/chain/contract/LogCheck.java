package io.dstack.vpn.chain.contract;

import java.util.Locale;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Does an eth_getLogs entry answer the question we asked? The endpoint is untrusted: a log of another contract
 * or outside the requested blocks, or with malformed hex, is not decoded but reported (and never stalls the
 * follower).
 *
 * @param contract   the contract address asked for (lower case)
 * @param fromBlock  first block asked for
 * @param toBlock    last block asked for
 * @param blockHash  the block hash asked for (eth_getLogs by blockHash), or null
 */
public record LogCheck(String contract, long fromBlock, long toBlock, String blockHash) {
    /** ABI data of our events: two short strings and a few words. Far more is not one of our logs. */
    static final int MAX_DATA_CHARS = 64 * 1024;

    public static LogCheck range(String contract, long from, long to) {
        return new LogCheck(contract.toLowerCase(Locale.ROOT), from, to, null);
    }

    public static LogCheck block(String contract, long number, String hash) {
        return new LogCheck(contract.toLowerCase(Locale.ROOT), number, number, hash);
    }

    /** Why the log is not acceptable, or null. Shows untrusted values only short and cleaned. */
    public String problem(JsonNode log) {
        if (log == null || !log.isObject()) {
            return "a log entry that is not an object";
        }
        String address = text(log, "address");
        if (!Hex.isAddress(address)) {
            return "log with a malformed address " + Hex.shown(address);
        }
        if (!address.toLowerCase(Locale.ROOT).equals(contract)) {
            return "log of another contract " + Hex.shown(address) + " (asked for " + contract + ")";
        }
        String number = text(log, "blockNumber");
        if (!Hex.isQuantity(number)) {
            return "log with a malformed blockNumber " + Hex.shown(number);
        }
        long block = Hex.quantity(number);
        if (block < fromBlock || block > toBlock) {
            return "log of block " + block + ", outside the requested blocks " + fromBlock + ".." + toBlock;
        }
        String hash = text(log, "blockHash");
        if (!Hex.isHash(hash)) {
            return "log with a malformed blockHash " + Hex.shown(hash);
        }
        if (blockHash != null && !hash.equalsIgnoreCase(blockHash)) {
            return "log of block hash " + Hex.shown(hash) + ", not the requested " + blockHash;
        }
        String index = text(log, "logIndex");
        if (!Hex.isQuantity(index)) {
            return "log with a malformed logIndex " + Hex.shown(index);
        }
        String tx = text(log, "transactionHash");
        if (tx != null && !Hex.isHash(tx)) {
            return "log with a malformed transactionHash " + Hex.shown(tx);
        }
        JsonNode topics = log.get("topics");
        if (topics == null || !topics.isArray() || topics.isEmpty() || topics.size() > 4) {
            return "log with " + (topics == null || !topics.isArray() ? "no topic list" : topics.size() + " topics");
        }
        for (JsonNode t : topics) {
            if (!Hex.isHash(t.isTextual() ? t.asText() : null)) {
                return "log with a malformed topic " + Hex.shown(t.asText());
            }
        }
        String data = text(log, "data");
        if (!Hex.isData(data, MAX_DATA_CHARS)) {
            return "log with malformed or oversized data (" + (data == null ? "missing" : data.length() + " characters") + ")";
        }
        return null;
    }

    private static String text(JsonNode log, String field) {
        JsonNode v = log.get(field);
        return v == null || !v.isTextual() ? null : v.asText();
    }
}
