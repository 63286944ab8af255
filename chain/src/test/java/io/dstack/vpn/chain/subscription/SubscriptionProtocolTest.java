package io.dstack.vpn.chain.subscription;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.dstack.vpn.chain.contract.AccessContract;
import io.dstack.vpn.chain.subscription.SubscriptionProtocol.Answer;
import io.dstack.vpn.chain.subscription.SubscriptionProtocol.Invalid;
import io.dstack.vpn.chain.subscription.SubscriptionProtocol.Notification;

class SubscriptionProtocolTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void theLogsSubscriptionAsksForTheContractAndTheFollowedTopicsOred() throws Exception {
        JsonNode req = JSON.readTree(SubscriptionProtocol.subscribeLogs(Fixtures.CONTRACT));
        assertThat(req.path("id").asLong()).isEqualTo(SubscriptionProtocol.LOGS_REQUEST);
        assertThat(req.path("params").path(0).asText()).isEqualTo("logs");
        JsonNode filter = req.path("params").path(1);
        assertThat(filter.path("address").asText()).isEqualTo(Fixtures.CONTRACT);
        assertThat(filter.path("topics").size()).as("one position, its alternatives OR-ed").isEqualTo(1);
        assertThat(filter.path("topics").path(0).size()).isEqualTo(AccessContract.FOLLOWED_TOPICS.size());
        assertThat(JSON.readTree(SubscriptionProtocol.subscribeHeads()).path("params").toString()).isEqualTo("[\"newHeads\"]");
    }

    @Test
    void readsAnswersNotificationsAndRefusesTheRest() {
        assertThat(SubscriptionProtocol.read("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0xab12\"}")).isEqualTo(new Answer(1, "0xab12", null));
        assertThat(SubscriptionProtocol.read("{\"id\":2,\"error\":{\"code\":-32601,\"message\":\"no\\u0007 logs\"}}"))
                .isEqualTo(new Answer(2, null, "no? logs (-32601)"));
        assertThat(SubscriptionProtocol.read("{\"method\":\"eth_subscription\",\"params\":{\"subscription\":\"0x1\",\"result\":{}}}"))
                .isInstanceOf(Notification.class);
        assertThat(SubscriptionProtocol.read("{\"id\":\"1\",\"result\":\"0x1\"}")).isInstanceOf(Invalid.class);
        assertThat(SubscriptionProtocol.read("{\"id\":1,\"result\":\"" + "a".repeat(101) + "\"}")).isInstanceOf(Invalid.class);
        assertThat(SubscriptionProtocol.read("{\"id\":1,\"result\":\"0x1 \\n\"}")).isInstanceOf(Invalid.class);
        assertThat(SubscriptionProtocol.read("{\"method\":\"eth_subscription\",\"params\":{\"subscription\":\"0x1\"}}")).isInstanceOf(Invalid.class);
        assertThat(SubscriptionProtocol.read("{\"method\":\"other\"}")).isInstanceOf(Invalid.class);
        assertThat(SubscriptionProtocol.read("nope")).isInstanceOf(Invalid.class);
        assertThat(SubscriptionProtocol.read("")).isInstanceOf(Invalid.class);
    }

    @Test
    void logsAreCheckedLikeGetLogsEntries() throws Exception {
        assertThat(SubscriptionProtocol.logProblem(Fixtures.CONTRACT, JSON.readTree(Fixtures.log(3, true)))).isNull();
        assertThat(SubscriptionProtocol.logProblem(Fixtures.CONTRACT, JSON.readTree(Fixtures.log(3, false).replace("\"removed\":false", "\"removed\":\"no\""))))
                .contains("removed");
        assertThat(SubscriptionProtocol.logProblem(Fixtures.CONTRACT.replace('5', '6'), JSON.readTree(Fixtures.log(3, false))))
                .contains("another contract");
        assertThat(SubscriptionProtocol.logProblem(Fixtures.CONTRACT, JSON.readTree(Fixtures.log(3, false).replace(AccessContract.TOPIC_REVOKED,
                Fixtures.hash(9))))).contains("topic not subscribed to");
    }

    @Test
    void headsNeedHexNumbersAndFullHashes() throws Exception {
        assertThat(Head.parse(JSON.readTree(Fixtures.head(16))).number()).isEqualTo(16);
        assertThatThrownBy(() -> Head.parse(JSON.readTree(Fixtures.head(16).replace("\"0x10\"", "\"16\""))))
                .hasMessageContaining("malformed number '16'");
        assertThatThrownBy(() -> Head.parse(JSON.readTree(Fixtures.head(16).replace(Fixtures.hash(16), Fixtures.hash(16) + "00"))))
                .hasMessageContaining("malformed hash");
        assertThatThrownBy(() -> Head.parse(JSON.readTree("{\"number\":\"0x1\"}"))).hasMessageContaining("(missing)");
        assertThatThrownBy(() -> Head.parse(null)).hasMessageContaining("not an object");
    }
}
