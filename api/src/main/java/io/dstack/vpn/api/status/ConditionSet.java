package io.dstack.vpn.api.status;

import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.text.SafeText;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;

/**
 * Builds a new condition list from the previous one, after Keycloak's status aggregator: a condition's
 * lastTransitionTime moves only when its status changes, so re-reconciling an unchanged resource renders
 * byte-equal status and causes no write. The operator's reconcilers and the node agent build theirs with it.
 */
public final class ConditionSet {
    private final List<Condition> previous;
    private final List<Condition> next = new ArrayList<>();
    /** Null for a writer that does not read the resource's generation (the agent): the field is left out. */
    private final Long observedGeneration;
    private final Clock clock;

    public ConditionSet(List<Condition> previous, long observedGeneration, Clock clock) {
        this(previous, Long.valueOf(observedGeneration), clock);
    }

    /** Conditions without observedGeneration. */
    public ConditionSet(List<Condition> previous, Clock clock) {
        this(previous, (Long) null, clock);
    }

    private ConditionSet(List<Condition> previous, Long observedGeneration, Clock clock) {
        this.previous = previous == null ? List.of() : previous;
        this.observedGeneration = observedGeneration;
        this.clock = clock;
    }

    public ConditionSet set(String type, boolean status, String reason, String message) {
        return set(type, status ? Conditions.TRUE : Conditions.FALSE, reason, message);
    }

    /** Long enough for a list of a few peers; condition messages are read by people, not parsed. */
    static final int MAX_MESSAGE = 1024;

    /** The message is cleaned and bounded here, whatever it quotes (RPC errors, chain data, peer names). */
    public ConditionSet set(String type, String status, String reason, String message) {
        message = SafeText.bounded(message, MAX_MESSAGE);
        Condition old = previous.stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
        String transition = old != null && Objects.equals(old.getStatus(), status) && old.getLastTransitionTime() != null
                ? old.getLastTransitionTime()
                : Instant.now(clock).truncatedTo(ChronoUnit.SECONDS).toString();
        next.removeIf(c -> type.equals(c.getType()));
        next.add(new ConditionBuilder().withType(type).withStatus(status).withReason(reason).withMessage(message)
                .withObservedGeneration(observedGeneration).withLastTransitionTime(transition).build());
        return this;
    }

    /**
     * Keeps each of {@code types} that this pass did not set as it was, unchanged (its status, reason, message,
     * transition time and its own observedGeneration, which tells when it was last evaluated): for a pass that ends
     * before it can evaluate them while what they describe stays in force.
     */
    public ConditionSet carry(String... types) {
        for (String type : types) {
            if (get(type).isEmpty()) {
                previous.stream().filter(c -> type.equals(c.getType())).findFirst().ifPresent(next::add);
            }
        }
        return this;
    }

    /** The condition set in this pass, if any. */
    public java.util.Optional<Condition> get(String type) {
        return next.stream().filter(c -> type.equals(c.getType())).findFirst();
    }

    public boolean isTrue(String type) {
        return next.stream().anyMatch(c -> type.equals(c.getType()) && Conditions.TRUE.equals(c.getStatus()));
    }

    public List<Condition> build() {
        return List.copyOf(next);
    }
}
