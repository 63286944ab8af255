package io.dstack.vpn.operator;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import io.dstack.vpn.operator.events.EventRecorder;
import io.dstack.vpn.operator.status.StatusApplier;
import io.fabric8.kubernetes.api.model.HasMetadata;

/** Stand-ins for the operator's own API writers (status apply, Events) that record what a reconcile sent. */
public final class RecordedWrites {

    /** A status apply: the object's name, the field manager, the fields it owns. */
    public record StatusWrite(String name, String fieldManager, Map<String, Object> fields) {
    }

    public static final class Statuses extends StatusApplier {
        public final List<StatusWrite> writes = new CopyOnWriteArrayList<>();

        @Override
        @SuppressWarnings("unchecked")
        public void apply(HasMetadata target, String fieldManager, Object ownedStatusFields) {
            writes.add(new StatusWrite(target.getMetadata().getName(), fieldManager, (Map<String, Object>) ownedStatusFields));
        }
    }

    /** Each Event as "type reason", e.g. "Warning AccessRevoked". */
    public static final class Events extends EventRecorder {
        public final List<String> recorded = new CopyOnWriteArrayList<>();

        @Override
        public void normal(HasMetadata about, String reason, String message) {
            recorded.add("Normal " + reason);
        }

        @Override
        public void warning(HasMetadata about, String reason, String message) {
            recorded.add("Warning " + reason);
        }
    }

    private RecordedWrites() {
    }
}
