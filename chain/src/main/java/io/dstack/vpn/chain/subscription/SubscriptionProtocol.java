package io.dstack.vpn.chain.subscription;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.dstack.vpn.api.text.SafeText;
import io.dstack.vpn.chain.contract.AccessContract;
import io.dstack.vpn.chain.contract.LogCheck;

/** The eth_subscribe messages we send and the reading of what comes back, which is untrusted. */
final class SubscriptionProtocol {
    static final long HEADS_REQUEST = 1;
    static final long LOGS_REQUEST = 2;
    /** Longest piece of the server's own text (an error message) kept in a reason. */
    static final int MAX_SERVER_TEXT = 200;
    /** Subscription ids are short hex strings in practice (geth 0x + 32 digits); anything else is not routed on. */
    private static final Pattern SUBSCRIPTION_ID = Pattern.compile("[0-9A-Za-z_-]{1,100}");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What one message from the server is. */
    sealed interface Message permits Answer, Notification, Invalid {
    }

    /** The answer to one of our requests: a subscription id, or the server's error text (cleaned). */
    record Answer(long id, String subscription, String error) implements Message {
    }

    /** An {@code eth_subscription} notification. */
    record Notification(String subscription, JsonNode result) implements Message {
    }

    /** Not something we can use; {@code reason} is ours, with server text only short and clean. */
    record Invalid(String reason) implements Message {
    }

    static String subscribeHeads() {
        return request(HEADS_REQUEST, List.of("newHeads"));
    }

    /** Logs of the contract with any of the followed topics: the same filter as the follower's eth_getLogs. */
    static String subscribeLogs(String contract) {
        Map<String, Object> filter = new LinkedHashMap<>();
        filter.put("address", contract);
        filter.put("topics", List.of(AccessContract.FOLLOWED_TOPICS));
        return request(LOGS_REQUEST, List.of("logs", filter));
    }

    private static String request(long id, List<Object> params) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("jsonrpc", "2.0");
        m.put("id", id);
        m.put("method", "eth_subscribe");
        m.put("params", params);
        return JSON.valueToTree(m).toString();
    }

    static Message read(String text) {
        JsonNode m;
        try {
            m = JSON.readTree(text);
        } catch (IOException e) {
            return new Invalid("a message that is not JSON");
        }
        if (m == null || !m.isObject()) {
            return new Invalid("a message that is not a JSON object");
        }
        JsonNode id = m.get("id");
        if (id != null && !id.isNull()) {
            return answer(id, m);
        }
        if (!"eth_subscription".equals(m.path("method").asText(null))) {
            return new Invalid("a message that is neither an answer nor an eth_subscription notification");
        }
        JsonNode params = m.get("params");
        String subscription = params == null ? null : params.path("subscription").asText(null);
        if (subscription == null || !SUBSCRIPTION_ID.matcher(subscription).matches() || !params.has("result")) {
            return new Invalid("a notification without a usable subscription id or result");
        }
        return new Notification(subscription, params.get("result"));
    }

    private static Message answer(JsonNode id, JsonNode m) {
        if (!id.canConvertToLong() || !id.isIntegralNumber()) {
            return new Invalid("an answer with a non-numeric id " + SafeText.bounded(id.toString(), 40));
        }
        JsonNode error = m.get("error");
        if (error != null && !error.isNull()) {
            String text = SafeText.bounded(error.path("message").asText(""), MAX_SERVER_TEXT);
            return new Answer(id.asLong(), null, text + " (" + error.path("code").asInt() + ")");
        }
        JsonNode result = m.get("result");
        if (result == null || !result.isTextual() || !SUBSCRIPTION_ID.matcher(result.asText()).matches()) {
            return new Invalid("an answer without a usable subscription id");
        }
        return new Answer(id.asLong(), result.asText(), null);
    }

    /**
     * Why a log notification is not acceptable, or null: the checks of an eth_getLogs entry (contract, hex), a
     * followed first topic, and a boolean {@code removed} if present. The block range is not checked: there is none.
     */
    static String logProblem(String contract, JsonNode log) {
        String problem = LogCheck.range(contract, 0, Long.MAX_VALUE).problem(log);
        if (problem != null) {
            return problem;
        }
        String topic = log.get("topics").get(0).asText().toLowerCase(Locale.ROOT);
        if (AccessContract.FOLLOWED_TOPICS.stream().noneMatch(t -> t.equalsIgnoreCase(topic))) {
            return "log with a topic not subscribed to " + SafeText.bounded(topic, 70);
        }
        JsonNode removed = log.get("removed");
        if (removed != null && !removed.isBoolean()) {
            return "log with a non-boolean removed flag";
        }
        return null;
    }

    private SubscriptionProtocol() {
    }
}
