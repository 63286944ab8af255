package io.dstack.vpn.agent.nodeapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Clock;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.status.ConditionSet;
import io.dstack.vpn.api.v1alpha1.VpnPeerStatus;

/** What an outside node may write into its VpnPeer status: the agent's own fields, checked and bounded, nothing else. */
class StatusBodyTest {

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void whatTheAgentWritesPasses() throws Exception {
        VpnPeerStatus s = new VpnPeerStatus();
        s.applied = new VpnPeerStatus.AppliedState();
        s.applied.generation = 7L;
        s.applied.time = "2026-01-01T00:00:00Z";
        s.applied.peersConfigured = 3;
        s.applied.peersWithRecentHandshake = 1;
        s.applied.rxBytes = 10L;
        s.applied.txBytes = 20L;
        s.conditions = new ConditionSet(null, Clock.systemUTC()).set(Conditions.APPLIED, false, "ApplyFailed", "wg: \u0007boom").build();
        VpnPeerStatus read = StatusBody.parse(NodeApiClient.statusBody(s), 7);
        assertThat(read.applied.generation).isEqualTo(7);
        assertThat(read.applied.txBytes).isEqualTo(20);
        assertThat(read.conditions).singleElement().satisfies(c -> {
            assertThat(c.getReason()).isEqualTo("ApplyFailed");
            assertThat(c.getMessage()).isEqualTo("wg: ?boom"); // control characters cleaned
            assertThat(c.getLastTransitionTime()).isNotNull();
        });
        assertThat(read.phase).isNull();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "not JSON                  | {applied:                                                             | not valid JSON",
            "an array                  | []                                                                   | must be a JSON object",
            "no applied                | {\"conditions\":[]}                                                  | applied is required",
            "a phase                   | {\"applied\":{\"generation\":1},\"phase\":\"Active\"}               | may not hold phase",
            "an address                | {\"applied\":{\"generation\":1},\"address\":\"10.0.0.9\"}           | may not hold address",
            "an unknown applied field  | {\"applied\":{\"generation\":1,\"admitted\":true}}                  | may not hold admitted",
            "a future generation       | {\"applied\":{\"generation\":8}}                                    | current generation 7",
            "a negative generation     | {\"applied\":{\"generation\":-1}}                                   | from 0 to",
            "a fractional generation   | {\"applied\":{\"generation\":1.5}}                                  | from 0 to",
            "a string generation       | {\"applied\":{\"generation\":\"1\"}}                                | from 0 to",
            "a huge count              | {\"applied\":{\"generation\":1,\"peersConfigured\":2000000}}        | from 0 to 1000000",
            "negative bytes            | {\"applied\":{\"generation\":1,\"rxBytes\":-5}}                     | non-negative",
            "a bad time                | {\"applied\":{\"generation\":1,\"time\":\"yesterday\"}}             | RFC 3339",
            "duplicate keys            | {\"applied\":{\"generation\":1,\"generation\":7}}                   | not valid JSON",
            "trailing data             | {\"applied\":{\"generation\":1}} {}                                 | trailing data",
            "another condition         | {\"applied\":{\"generation\":1},\"conditions\":[{\"type\":\"Admitted\",\"status\":\"True\"}]} | only the condition of type Applied",
            "two conditions            | {\"applied\":{\"generation\":1},\"conditions\":[{\"type\":\"Applied\",\"status\":\"True\"},{\"type\":\"Applied\",\"status\":\"True\"}]} | at most the Applied condition",
            "a bad condition status    | {\"applied\":{\"generation\":1},\"conditions\":[{\"type\":\"Applied\",\"status\":\"Yes\"}]} | True, False or Unknown",
            "a bad reason              | {\"applied\":{\"generation\":1},\"conditions\":[{\"type\":\"Applied\",\"status\":\"True\",\"reason\":\"a b\"}]} | CamelCase",
            "observedGeneration        | {\"applied\":{\"generation\":1},\"conditions\":[{\"type\":\"Applied\",\"status\":\"True\",\"observedGeneration\":3}]} | may not hold observedGeneration",
            "deep nesting              | {\"applied\":{\"generation\":1},\"x\":[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]}          | not valid JSON",
    })
    void hostileBodiesAreRefusedWithAClearMessage(String name, String body, String message) {
        assertThatThrownBy(() -> StatusBody.parse(utf8(body), 7)).isInstanceOf(StatusBody.Invalid.class).hasMessageContaining(message);
    }

    @Test
    void longMessagesAreRefused() {
        String body = "{\"applied\":{\"generation\":1},\"conditions\":[{\"type\":\"Applied\",\"status\":\"False\",\"message\":\""
                + "x".repeat(StatusBody.MAX_MESSAGE + 1) + "\"}]}";
        assertThatThrownBy(() -> StatusBody.parse(utf8(body), 7)).hasMessageContaining("longer than 1024");
    }

    @Test
    void unknownFieldNamesAreNotEchoedUnbounded() {
        String field = "<" + "f".repeat(5000) + ">";
        assertThatThrownBy(() -> StatusBody.parse(utf8("{\"applied\":{\"generation\":1},\"" + field + "\":1}"), 7))
                .satisfies(e -> assertThat(e.getMessage().length()).isLessThan(300));
    }
}
