package io.dstack.vpn.agent.nodeapi;

import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.text.SafeText;
import io.dstack.vpn.api.v1alpha1.VpnPeerStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;

/**
 * The status an outside node may write (ADR 0015): {@code applied} and the {@code Applied} condition, nothing else,
 * every field checked and bounded. What the in-cluster agent writes (StatusReporter) passes; a phase, an address,
 * a token, another condition, a generation the network has not reached, duplicate keys or unknown fields do not.
 */
final class StatusBody {
    static final int MAX_COUNT = 1_000_000;
    static final int MAX_MESSAGE = 1024;
    static final int MAX_REASON = 64;
    static final int MAX_TIME = 40;
    private static final Pattern REASON = Pattern.compile("[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?");
    private static final Set<String> TOP = Set.of("applied", "conditions");
    private static final Set<String> APPLIED = Set.of("generation", "time", "peersConfigured", "peersWithRecentHandshake", "rxBytes", "txBytes");
    private static final Set<String> CONDITION = Set.of("type", "status", "reason", "message", "lastTransitionTime");
    private static final Set<String> STATUSES = Set.of(Conditions.TRUE, Conditions.FALSE, Conditions.UNKNOWN);
    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(16).maxStringLength(64 * 1024).build())
            .build());

    static final class Invalid extends Exception {
        Invalid(String message) {
            super(message, null, false, false);
        }
    }

    /** @param currentGeneration the network's newest peer-set generation: a node cannot have applied a later one */
    static VpnPeerStatus parse(byte[] body, long currentGeneration) throws Invalid {
        JsonNode root;
        try (JsonParser p = JSON.createParser(body)) {
            root = JSON.readTree(p);
            if (p.nextToken() != null) {
                throw new Invalid("trailing data after the JSON object");
            }
        } catch (IOException e) {
            throw new Invalid("the body is not valid JSON");
        }
        if (root == null || !root.isObject()) {
            throw new Invalid("the body must be a JSON object with applied and conditions");
        }
        onlyKeys(root, TOP, "status");
        JsonNode appliedNode = root.get("applied");
        if (appliedNode == null || !appliedNode.isObject()) {
            throw new Invalid("status.applied is required and must be an object");
        }
        onlyKeys(appliedNode, APPLIED, "status.applied");
        VpnPeerStatus.AppliedState applied = new VpnPeerStatus.AppliedState();
        applied.generation = integer(appliedNode, "generation", 0, currentGeneration, true,
                "status.applied.generation must be from 0 to the network's current generation " + currentGeneration);
        applied.time = time(appliedNode, "time", "status.applied.time");
        applied.peersConfigured = boundedInt(appliedNode, "peersConfigured");
        applied.peersWithRecentHandshake = boundedInt(appliedNode, "peersWithRecentHandshake");
        applied.rxBytes = integer(appliedNode, "rxBytes", 0, Long.MAX_VALUE, false, "status.applied.rxBytes must be a non-negative integer");
        applied.txBytes = integer(appliedNode, "txBytes", 0, Long.MAX_VALUE, false, "status.applied.txBytes must be a non-negative integer");
        VpnPeerStatus status = new VpnPeerStatus();
        status.applied = applied;
        JsonNode conditions = root.get("conditions");
        if (conditions != null && !conditions.isNull()) {
            if (!conditions.isArray() || conditions.size() > 1) {
                throw new Invalid("status.conditions must be a list holding at most the Applied condition");
            }
            status.conditions = conditions.isEmpty() ? List.of() : List.of(condition(conditions.get(0)));
        }
        return status;
    }

    private static Condition condition(JsonNode c) throws Invalid {
        if (!c.isObject()) {
            throw new Invalid("a condition must be an object");
        }
        onlyKeys(c, CONDITION, "the condition");
        if (!Conditions.APPLIED.equals(text(c, "type"))) {
            throw new Invalid("only the condition of type Applied may be written");
        }
        String status = text(c, "status");
        if (!STATUSES.contains(status)) {
            throw new Invalid("the condition's status must be True, False or Unknown");
        }
        String reason = text(c, "reason");
        if (reason != null && (reason.length() > MAX_REASON || !REASON.matcher(reason).matches())) {
            throw new Invalid("the condition's reason must be a CamelCase word of at most " + MAX_REASON + " characters");
        }
        String message = text(c, "message");
        if (message != null && message.length() > MAX_MESSAGE) {
            throw new Invalid("the condition's message is longer than " + MAX_MESSAGE + " characters");
        }
        return new ConditionBuilder().withType(Conditions.APPLIED).withStatus(status).withReason(reason)
                .withMessage(SafeText.clean(message)).withLastTransitionTime(time(c, "lastTransitionTime", "the condition's lastTransitionTime"))
                .build();
    }

    private static void onlyKeys(JsonNode node, Set<String> allowed, String where) throws Invalid {
        for (Iterator<String> it = node.fieldNames(); it.hasNext();) {
            String name = it.next();
            if (!allowed.contains(name)) {
                throw new Invalid(where + " may not hold " + SafeText.bounded(name, 64) + " (allowed: " + String.join(", ", allowed.stream().sorted().toList()) + ")");
            }
        }
    }

    private static String text(JsonNode node, String field) throws Invalid {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new Invalid(field + " must be a string");
        }
        return v.asText();
    }

    private static String time(JsonNode node, String field, String what) throws Invalid {
        String t = text(node, field);
        if (t == null) {
            return null;
        }
        try {
            if (t.length() > MAX_TIME) {
                throw new DateTimeParseException("too long", t, 0);
            }
            Instant.parse(t);
            return t;
        } catch (DateTimeParseException e) {
            throw new Invalid(what + " must be an RFC 3339 time such as 2026-01-01T00:00:00Z");
        }
    }

    private static Integer boundedInt(JsonNode node, String field) throws Invalid {
        Long v = integer(node, field, 0, MAX_COUNT, false, "status.applied." + field + " must be an integer from 0 to " + MAX_COUNT);
        return v == null ? null : v.intValue();
    }

    private static Long integer(JsonNode node, String field, long min, long max, boolean required, String message) throws Invalid {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            if (required) {
                throw new Invalid(message);
            }
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
            throw new Invalid(message);
        }
        return v.asLong();
    }

    private StatusBody() {
    }
}
