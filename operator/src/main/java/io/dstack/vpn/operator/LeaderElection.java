package io.dstack.vpn.operator;

import java.util.UUID;
import java.util.function.Consumer;

import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.javaoperatorsdk.operator.api.config.ConfigurationServiceOverrider;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.quarkiverse.operatorsdk.runtime.api.ConfigurationServiceCustomizer;
import io.quarkus.runtime.ApplicationLifecycleManager;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.ShutdownEvent;

/**
 * Leader election through a Lease in the operator's namespace, so a rolling upgrade or a second replica
 * never has two operators writing peer sets at once.
 *
 * <p>Losing the lease while running means another replica may already write: we exit (and Kubernetes
 * restarts us as a follower). JOSDK's own exit-on-stop-leading calls System.exit from inside the shutdown
 * it is part of, which blocks until the pod is killed; so we exit ourselves, and only when not already
 * shutting down.
 *
 * <p>The operator's only ConfigurationServiceCustomizer: Quarkus looks up exactly one, and with two it silently
 * applies neither (OperatorIT checks the Lease).
 */
@Singleton
public class LeaderElection implements ConfigurationServiceCustomizer {
    private static final Logger LOG = Logger.getLogger(LeaderElection.class);

    @ConfigProperty(name = "dstack.operator.leader-election.enabled", defaultValue = "true")
    boolean enabled;

    @ConfigProperty(name = "dstack.operator.leader-election.lease-name", defaultValue = "dstack-vpn-operator")
    String leaseName;

    @ConfigProperty(name = "dstack.operator.namespace", defaultValue = "default")
    String namespace;

    @jakarta.inject.Inject
    KubernetesClient client;

    private final String identity = identity();
    private volatile boolean shuttingDown;

    void onShutdown(@Observes @Priority(1) ShutdownEvent event) {
        shuttingDown = true;
    }

    @Override
    public Consumer<ConfigurationServiceOverrider> overrider() {
        return o -> {
            if (enabled) {
                // The builder refuses exitOnStopLeading=false outside tests; the constructor takes it.
                o.withLeaderElectionConfiguration(new LeaderElectionConfiguration(leaseName, namespace,
                        LeaderElectionConfiguration.LEASE_DURATION_DEFAULT_VALUE,
                        LeaderElectionConfiguration.RENEW_DEADLINE_DEFAULT_VALUE,
                        LeaderElectionConfiguration.RETRY_PERIOD_DEFAULT_VALUE,
                        identity,
                        new LeaderCallbacks(
                                () -> LOG.infof("became leader (lease %s/%s)", namespace, leaseName),
                                this::lostLease,
                                leader -> LOG.infof("leader is now %s", leader)),
                        false));
            }
        };
    }

    /**
     * Hands the lease over at once on a clean shutdown, so a restarted or upgraded operator takes over
     * without waiting out the lease duration (15 s). Only touches the lease while we still hold it.
     */
    private void releaseLease() {
        try {
            var lease = client.leases().inNamespace(namespace).withName(leaseName).get();
            if (lease != null && lease.getSpec() != null && identity.equals(lease.getSpec().getHolderIdentity())) {
                lease.getSpec().setHolderIdentity(null);
                lease.getSpec().setLeaseDurationSeconds(1);
                client.leases().inNamespace(namespace).resource(lease).update();
            }
            LOG.info("released the leader lease on shutdown");
        } catch (RuntimeException e) {
            LOG.infof("could not release the leader lease on shutdown (%s); the next leader waits for it to expire", e.getMessage());
        }
    }

    /** The pod name (unique in a cluster) plus a random part, so two local processes never share one. */
    private static String identity() {
        String host = System.getenv().getOrDefault("HOSTNAME", "dstack-vpn-operator");
        return host + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private void lostLease() {
        if (shuttingDown || ApplicationLifecycleManager.isVmShuttingDown()) {
            releaseLease();
            return;
        }
        LOG.error("lost the leader lease: exiting so that only one operator writes");
        Quarkus.asyncExit(1);
    }
}
