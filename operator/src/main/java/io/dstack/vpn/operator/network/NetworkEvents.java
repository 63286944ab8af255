package io.dstack.vpn.operator.network;

import java.util.List;
import java.util.Set;

import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.status.ConditionSet;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnNetworkStatus;
import io.dstack.vpn.operator.events.EventRecorder;

/**
 * The Events of one network's reconcile. Trouble is announced once per transition (against the old status),
 * not per reconcile: a hostile chain endpoint or a full pool must not become an Event storm.
 */
final class NetworkEvents {
    /** More nodes than this joining (or leaving) in one generation are announced in one Event, not one each. */
    static final int MAX_EVENTS_PER_KIND = 10;

    private final EventRecorder events;
    private final VpnNetwork network;
    private final VpnNetworkStatus old;

    NetworkEvents(EventRecorder events, VpnNetwork network) {
        this.events = events;
        this.network = network;
        this.old = network.getStatus();
    }

    /** Unusable chain data (a condition alone is easy to miss), or a fatal error of the chain source. */
    void chainTrouble(ConditionSet conditions) {
        conditions.get(Conditions.CHAIN_DATA_VALID).filter(c -> Conditions.FALSE.equals(c.getStatus()))
                .filter(c -> !wasFalse(Conditions.CHAIN_DATA_VALID))
                .ifPresent(c -> events.warning(network, c.getReason(), c.getMessage()));
        conditions.get(Conditions.CHAIN_SYNCED).filter(c -> "ChainSourceFailed".equals(c.getReason()))
                .filter(c -> old == null || old.conditions == null || old.conditions.stream()
                        .noneMatch(o -> Conditions.CHAIN_SYNCED.equals(o.getType()) && "ChainSourceFailed".equals(o.getReason())))
                .ifPresent(c -> events.warning(network, c.getReason(), c.getMessage()));
    }

    void poolExhausted(NetworkPlan plan) {
        if (!plan.addresses().exhausted().isEmpty() && !wasFalse(Conditions.ADDRESS_POOL_AVAILABLE)) {
            events.warning(network, "AddressPoolExhausted", NetworkStatusAggregator.poolExhausted(plan));
        }
    }

    void membershipChanged(NetworkPlan.MembershipChange change, long generation) {
        announce("PeerAdded", "joined", change.added(), generation);
        announce("PeerRemoved", "left", change.removed(), generation);
        change.rotatedKeys().forEach((nodeId, key) -> events.normal(network, "PeerKeyRotated", "node " + nodeId + " now uses key " + key));
    }

    /**
     * One Event per node for everyday changes; a mass change (the first render of a large network, a bulk grant)
     * gets one Event naming the first few, not thousands of API writes inside this reconcile.
     */
    private void announce(String reason, String verb, Set<String> nodeIds, long generation) {
        if (nodeIds.size() > MAX_EVENTS_PER_KIND) {
            List<String> sorted = nodeIds.stream().sorted().toList();
            events.normal(network, reason, nodeIds.size() + " nodes " + verb + " (" + String.join(", ", sorted.subList(0, MAX_EVENTS_PER_KIND))
                    + ", and " + (sorted.size() - MAX_EVENTS_PER_KIND) + " more); peer set generation " + generation);
        } else {
            nodeIds.forEach(nodeId -> events.normal(network, reason, "node " + nodeId + " " + verb + "; peer set generation " + generation));
        }
    }

    private boolean wasFalse(String type) {
        return old != null && old.conditions != null
                && old.conditions.stream().anyMatch(c -> type.equals(c.getType()) && Conditions.FALSE.equals(c.getStatus()));
    }
}
