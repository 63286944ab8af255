package io.dstack.vpn.operator.events;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.dstack.vpn.api.text.SafeText;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/** Kubernetes Events for what a person watching `kubectl describe` should see: grants, revocations, errors. */
@ApplicationScoped
public class EventRecorder {
    private static final Logger LOG = Logger.getLogger(EventRecorder.class);
    public static final String COMPONENT = "dstack-vpn-operator";

    @Inject
    KubernetesClient client;

    public void normal(HasMetadata about, String reason, String message) {
        record(about, "Normal", reason, message);
    }

    public void warning(HasMetadata about, String reason, String message) {
        record(about, "Warning", reason, message);
    }

    private void record(HasMetadata about, String type, String reason, String message) {
        String now = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        String name = about.getMetadata().getName() + "." + Long.toHexString(System.nanoTime())
                + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x1000));
        var event = new EventBuilder()
                .withNewMetadata().withName(name.toLowerCase(Locale.ROOT)).withNamespace(about.getMetadata().getNamespace()).endMetadata()
                .withInvolvedObject(new ObjectReferenceBuilder()
                        .withApiVersion(about.getApiVersion()).withKind(about.getKind())
                        .withName(about.getMetadata().getName()).withNamespace(about.getMetadata().getNamespace())
                        .withUid(about.getMetadata().getUid()).build())
                .withType(type).withReason(reason).withMessage(truncate(message))
                .withNewSource().withComponent(COMPONENT).endSource()
                .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
                .build();
        try {
            client.v1().events().inNamespace(about.getMetadata().getNamespace()).resource(event).create();
        } catch (RuntimeException e) {
            // An event is a courtesy; failing to record one must never fail a reconcile.
            LOG.debugf("could not record event %s on %s: %s", reason, about.getMetadata().getName(), e.getMessage());
        }
    }

    private static String truncate(String m) {
        return SafeText.bounded(m, 1000);
    }
}
