package io.dstack.vpn.chain.contract;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Log decoding never throws on untrusted data; topics match the contract's events. */
class AccessContractTest {
    private final ObjectMapper json = new ObjectMapper();

    ObjectNode log(String topic0, String data, String... more) {
        ObjectNode log = json.createObjectNode();
        log.put("blockNumber", "0x5").put("blockHash", "0xbb").put("logIndex", "0x0").put("data", data);
        var topics = log.putArray("topics").add(topic0);
        for (String t : more) {
            topics.add(t);
        }
        return log;
    }

    @Test
    void topicsAreTheKeccakOfTheEventSignatures() {
        // Values from the compiled contract (contracts/build) as anvil emitted them.
        assertThat(AccessContract.TOPIC_GRANTED).isEqualTo("0x9a71852b5ff3e6dcfff28eaeb177387d7be860dcf63f02bc0c74d796d373a22c");
        assertThat(AccessContract.TOPIC_REVOKED).isEqualTo("0xf77547477629bf8d4b78aaa6babeeb3306e56da1ca9b54caceabf24cbc922020");
        assertThat(AccessContract.TOPIC_KEY_ROTATED).isEqualTo("0x7f576d61353bd395fa95f33c81bc3b749ddbd42859e06f32cf529ca46842b0f4");
        assertThat(AccessContract.TOPIC_TRANSFER).isEqualTo("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
    }

    @Test
    void truncatedDataIsMalformedNotAnException() {
        String tokenTopic = "0x" + "0".repeat(63) + "7";
        AccessEvent e = AccessContract.decodeLog(log(AccessContract.TOPIC_GRANTED, "0x1234", tokenTopic, "0x" + "0".repeat(64)));
        assertThat(e).isInstanceOf(AccessEvent.Malformed.class);
        assertThat(((AccessEvent.Malformed) e).reason()).contains("NodeAccessGranted");
        assertThat(e.at().block()).isEqualTo(5);
    }

    @Test
    void missingTopicsAndUnknownEventsAreMalformed() {
        assertThat(AccessContract.decodeLog(log(AccessContract.TOPIC_REVOKED, "0x"))).isInstanceOf(AccessEvent.Malformed.class);
        assertThat(AccessContract.decodeLog(log("0x" + "ab".repeat(32), "0x"))).isInstanceOf(AccessEvent.Malformed.class);
    }

    @Test
    void transferDecodesAddressesFromTopics() {
        String from = "0x" + "0".repeat(24) + "70997970c51812dc3a010c7d01b50e0d17dc79c8";
        String to = "0x" + "0".repeat(24) + "3c44cdddb6a900fa2b585dd299e03d12fa4293bc";
        AccessEvent e = AccessContract.decodeLog(log(AccessContract.TOPIC_TRANSFER, "0x", from, to, "0x" + "0".repeat(63) + "2"));
        assertThat(e).isInstanceOfSatisfying(AccessEvent.Transferred.class, t -> {
            assertThat(t.from()).isEqualTo("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
            assertThat(t.to()).isEqualTo("0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc");
            assertThat(t.tokenId()).isEqualTo(2);
        });
    }

    @Test
    void malformedBlockNumberOrLogIndexIsMalformedNotAnException() {
        // Once parsed outside the guard: the NumberFormatException failed every poll of the same range, forever.
        ObjectNode bad = log(AccessContract.TOPIC_REVOKED, "0x");
        bad.put("blockNumber", "0xZZ-not-hex");
        assertThat(AccessContract.decodeLog(bad)).isInstanceOfSatisfying(AccessEvent.Malformed.class,
                m -> assertThat(m.reason()).contains("malformed hex quantity"));
        ObjectNode badIndex = log(AccessContract.TOPIC_REVOKED, "0x");
        badIndex.put("logIndex", "-1");
        assertThat(AccessContract.decodeLog(badIndex)).isInstanceOf(AccessEvent.Malformed.class);
    }
}
