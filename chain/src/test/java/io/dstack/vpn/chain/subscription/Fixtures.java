package io.dstack.vpn.chain.subscription;

import io.dstack.vpn.chain.contract.AccessContract;

/** Well-formed heads and logs as a node would send them. */
final class Fixtures {
    static final String CONTRACT = "0x5fbdb2315678afecb367f032d93f642f64180aa3";

    static String hash(long n) {
        return String.format("0x%064x", n + 0xabc000L);
    }

    static String head(long number) {
        return "{\"number\":\"0x" + Long.toHexString(number) + "\",\"hash\":\"" + hash(number) + "\",\"parentHash\":\"" + hash(number - 1)
                + "\",\"timestamp\":\"0x6650a0b" + Long.toHexString(number % 16) + "\",\"miner\":\"0x0000000000000000000000000000000000000000\"}";
    }

    static String log(long block, boolean removed) {
        return "{\"address\":\"" + CONTRACT + "\",\"topics\":[\"" + AccessContract.TOPIC_REVOKED + "\",\"" + String.format("0x%064x", 7)
                + "\"],\"data\":\"0x\",\"blockNumber\":\"0x" + Long.toHexString(block) + "\",\"blockHash\":\"" + hash(block)
                + "\",\"logIndex\":\"0x0\",\"transactionHash\":\"" + hash(block + 1000) + "\",\"removed\":" + removed + "}";
    }

    private Fixtures() {
    }
}
