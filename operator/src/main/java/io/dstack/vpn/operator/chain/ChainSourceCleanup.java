package io.dstack.vpn.operator.chain;

import java.util.Set;
import java.util.stream.Collectors;

import org.jboss.logging.Logger;

import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.health.InformerHealthIndicator;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;

/**
 * Stops a network's chain source when its VpnNetwork is deleted, and once at start those of networks that are gone
 * (docs/adr/0014-chain-source-lifecycle.md). An event source of the network controller, so JOSDK starts it where
 * and when the controller runs (the leader) on the namespaces it watches; it never triggers a reconcile and adds no
 * finalizer: a network in Git must stay deletable while the operator is down.
 */
public class ChainSourceCleanup extends InformerEventSource<VpnNetwork, VpnNetwork> {
    private static final Logger LOG = Logger.getLogger(ChainSourceCleanup.class);
    public static final String NAME = "chain-source-cleanup";

    private final ChainSources sources;

    public ChainSourceCleanup(EventSourceContext<VpnNetwork> context, ChainSources sources) {
        super(InformerEventSourceConfiguration.from(VpnNetwork.class, VpnNetwork.class)
                .withName(NAME)
                // Adds and updates reach the reconciler through its own informer; this one only watches for deletes.
                .withSecondaryToPrimaryMapper(network -> Set.of())
                .withOnAddFilter(network -> false)
                .withOnUpdateFilter((network, old) -> false)
                .build(), context);
        this.sources = sources;
    }

    /**
     * Not passed on to JOSDK: the event maps to no primary, and nothing was written through this source, so its
     * temporary cache holds nothing to evict (the informer's own store drops the network before calling this).
     */
    @Override
    public synchronized void onDelete(VpnNetwork network, boolean finalStateUnknown) {
        sources.networkDeleted(network);
    }

    @Override
    public synchronized void start() {
        super.start();
        sweep();
    }

    /** Stops the sources of networks this informer does not list; only once it has listed them all. */
    void sweep() {
        if (!informerHealthIndicators().values().stream().allMatch(InformerHealthIndicator::hasSynced)) {
            LOG.info("VpnNetwork informer not synced at start: the chain-source sweep is skipped (deletes still stop sources)");
            return;
        }
        sources.retainOnly(keys().collect(Collectors.toSet()));
    }
}
