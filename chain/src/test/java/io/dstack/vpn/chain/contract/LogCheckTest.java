package io.dstack.vpn.chain.contract;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** A log is used only if it answers the question asked: our contract, the requested blocks, well-formed hex. */
class LogCheckTest {
    static final String CONTRACT = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
    static final String HASH = "0x" + "ab".repeat(32);
    private final ObjectMapper json = new ObjectMapper();
    private final LogCheck range = LogCheck.range(CONTRACT, 10, 20);

    ObjectNode log() {
        ObjectNode log = json.createObjectNode();
        log.put("address", CONTRACT.toUpperCase().replace("0X", "0x")).put("blockNumber", "0xf").put("blockHash", HASH)
                .put("logIndex", "0x0").put("transactionHash", "0x" + "cd".repeat(32)).put("data", "0x");
        log.putArray("topics").add(AccessContract.TOPIC_REVOKED).add("0x" + "0".repeat(63) + "1");
        return log;
    }

    @Test
    void aWellFormedLogOfOurContractInRangePasses() {
        assertThat(range.problem(log())).isNull();
        assertThat(LogCheck.block(CONTRACT, 15, HASH.toUpperCase().replace("0X", "0x")).problem(log())).isNull();
    }

    @Test
    void aLogOfAnotherContractIsRejected() {
        assertThat(range.problem(log().put("address", "0x000000000000000000000000000000000000dead"))).contains("another contract");
    }

    @Test
    void aLogOutsideTheRequestedBlocksIsRejected() {
        assertThat(range.problem(log().put("blockNumber", "0x9"))).contains("outside the requested blocks 10..20");
        assertThat(range.problem(log().put("blockNumber", "0x15"))).contains("outside");
        assertThat(LogCheck.block(CONTRACT, 15, "0x" + "ef".repeat(32)).problem(log())).contains("not the requested");
    }

    @Test
    void malformedHexAnywhereIsRejected() {
        assertThat(range.problem(log().put("blockNumber", "0xZZ"))).contains("blockNumber");
        assertThat(range.problem(log().put("blockNumber", "0x00f"))).contains("blockNumber");
        assertThat(range.problem(log().put("blockNumber", "0x" + "f".repeat(40)))).contains("blockNumber");
        assertThat(range.problem(log().put("logIndex", "-1"))).contains("logIndex");
        assertThat(range.problem(log().put("blockHash", "0x12"))).contains("blockHash");
        assertThat(range.problem(log().put("data", "0x123"))).contains("data");
        assertThat(range.problem(log().put("data", "0x" + "00".repeat(40_000)))).contains("oversized");
        ObjectNode badTopic = log();
        badTopic.putArray("topics").add("0xnope");
        assertThat(range.problem(badTopic)).contains("topic");
        assertThat(range.problem(json.createObjectNode())).contains("address");
    }

    @Test
    void untrustedValuesAreShownShortAndClean() {
        String problem = range.problem(log().put("blockNumber", "0x\n" + "z".repeat(10_000)));
        assertThat(problem).hasSizeLessThan(120).doesNotContain("\n");
    }
}
