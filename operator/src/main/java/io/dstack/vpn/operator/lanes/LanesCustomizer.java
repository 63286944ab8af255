package io.dstack.vpn.operator.lanes;

import jakarta.annotation.Priority;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.ConfigurationService;
import io.javaoperatorsdk.operator.api.config.ExecutorServiceManager;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;

/**
 * Hands JOSDK the two-lane reconcile executor ({@link ReconcileLanes}) and exposes the lanes as metrics.
 *
 * <p>Why at startup and not through a ConfigurationServiceCustomizer: Quarkus builds the controllers'
 * configuration before it applies a customizer, so the controllers keep the original configuration service and
 * its executor (measured: the override reached the operator's top-level service only, and every reconcile still
 * ran on JOSDK's default pool). That service's executor manager is started when the operator is built, before any
 * controller runs; restarting it here with our executor, before the operator starts (observer priority 1, ahead of
 * the Quarkus extension's), is what makes the controllers use it. OperatorIT fails if a JOSDK or Quarkus upgrade
 * changes that.
 */
@Singleton
public class LanesCustomizer {
    private static final Logger LOG = Logger.getLogger(LanesCustomizer.class);
    private final ReconcileLanes lanes;
    private final int networkThreads;
    private final int peerThreads;

    public LanesCustomizer(@ConfigProperty(name = "dstack.operator.network-reconcile-threads", defaultValue = "2") int networkThreads,
            @ConfigProperty(name = "dstack.operator.peer-reconcile-threads", defaultValue = "48") int peerThreads,
            MeterRegistry registry) {
        this.networkThreads = networkThreads;
        this.peerThreads = peerThreads;
        this.lanes = new ReconcileLanes(networkThreads, peerThreads, ReconcileRouting::isNetworkReconcile);
        for (String lane : new String[] {"priority", "general"}) {
            boolean priority = lane.equals("priority");
            Gauge.builder("dstack_vpn_operator_reconciles_queued", lanes, l -> priority ? l.priorityQueued() : l.generalQueued())
                    .tag("lane", lane).description("Reconciles waiting for a thread, per lane").register(registry);
            FunctionCounter.builder("dstack_vpn_operator_reconciles_submitted_total", lanes, l -> priority ? l.priorityTasks() : l.generalTasks())
                    .tag("lane", lane).description("Reconciles handed to each lane; the priority lane holds the network (peer set) reconciles")
                    .register(registry);
        }
    }

    public ReconcileLanes lanes() {
        return lanes;
    }

    void installBeforeTheOperatorStarts(@Observes @Priority(1) StartupEvent event, Operator operator) {
        java.util.Set<ExecutorServiceManager> done = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (var controller : operator.getRegisteredControllers()) {
            ConfigurationService original = controller.getConfiguration().getConfigurationService();
            ExecutorServiceManager manager = original.getExecutorServiceManager();
            if (done.add(manager)) {
                // Started already (with JOSDK's default pool) when the operator was built, before any controller ran:
                // stop its idle executors and start it again with ours.
                manager.stop(java.time.Duration.ZERO);
                manager.start(ConfigurationService.newOverriddenConfigurationService(original, o -> o.withExecutorService(lanes)));
            }
        }
        int started = done.size();
        LOG.infof("reconciles run in two lanes: %d thread(s) for network reconciles, %d for the rest (%d executor manager(s))", networkThreads,
                peerThreads, started);
    }
}
