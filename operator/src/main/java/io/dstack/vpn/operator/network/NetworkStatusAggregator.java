package io.dstack.vpn.operator.network;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.status.ConditionSet;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnNetworkStatus;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.operator.status.Failures;

/**
 * Builds a network's status for one reconcile pass, after Keycloak's status aggregator. A pass either plans
 * (status from the {@link NetworkPlan}) or ends early; what an early end keeps from the old status is decided
 * here, in one place:
 *
 * <pre>
 * pass                 peers, addresses, peerSet, convergence   chain          conditions set     conditions carried
 * invalidCidr          kept from the old status                 kept           SpecValid, Ready   PeerSetRendered, AddressPoolAvailable, the chain's
 * rpcConfigInvalid     kept from the old status                 kept           + ChainSynced      PeerSetRendered, AddressPoolAvailable, the chain's others
 * waitingForChain      kept from the old status                 this pass's    + the chain's      PeerSetRendered, AddressPoolAvailable
 * planned              from the plan                            this pass's    all it evaluated   none
 * reconcileFailed      kept from the old status                 kept           Ready              every other one
 * </pre>
 *
 * The counts, addresses and peer set are kept because an early end changes none of them: the last rendered
 * peer set stays in force, and a status that blanked them would flap on every restart. The conditions that
 * describe a kept field are carried with it, unchanged ({@link ConditionSet#carry}): PeerSetRendered with the
 * peer set, AddressPoolAvailable with the addresses, the chain conditions with the chain position. Their own
 * observedGeneration tells a reader when they were last evaluated. Before this class an early end dropped them,
 * so PeerSetRendered vanished while the chain follower resynced although its peer set was still in force. A
 * condition that is set again keeps its lastTransitionTime while its status does not change.
 */
final class NetworkStatusAggregator {
    /** What the peer set and the addresses kept by an early end are described by. */
    static final String[] PEER_SET_CONDITIONS = {Conditions.PEER_SET_RENDERED, Conditions.ADDRESS_POOL_AVAILABLE};
    /** Ready's reason while a failed reconcile is retried. */
    static final String RECONCILE_FAILED = "ReconcileFailed";
    /** What the chain position kept by an early end is described by. */
    static final String[] CHAIN_CONDITIONS = {Conditions.CHAIN_SYNCED, Conditions.CHAIN_REACHABLE, Conditions.CHAIN_DATA_VALID};
    private final VpnNetwork network;
    private final VpnNetworkStatus old;
    private final long generation;
    private final ConditionSet conditions;

    NetworkStatusAggregator(VpnNetwork network, Clock clock) {
        this.network = network;
        Long g = network.getMetadata().getGeneration();
        this.generation = g == null ? 0 : g;
        this.old = network.getStatus();
        this.conditions = new ConditionSet(old == null ? null : old.conditions, generation, clock);
    }

    /** This pass's conditions, for the chain source to add its own ({@code ChainStatus.conditions}). */
    ConditionSet conditions() {
        return conditions;
    }

    /** The API server validates the CIDR; this guards objects stored before validation existed. */
    VpnNetworkStatus invalidCidr(String why) {
        conditions.set(Conditions.SPEC_VALID, false, "InvalidCidr", why)
                .set(Conditions.READY, false, "InvalidSpec", why);
        conditions.carry(PEER_SET_CONDITIONS).carry(CHAIN_CONDITIONS);
        return keptFromOld();
    }

    void specValid() {
        conditions.set(Conditions.SPEC_VALID, true, "Valid", "spec is valid");
    }

    /** The chain source could not be built from the spec (its RPC settings). */
    VpnNetworkStatus rpcConfigInvalid(String why) {
        conditions.set(Conditions.CHAIN_SYNCED, false, "RpcConfigInvalid", why)
                .set(Conditions.READY, false, "ChainNotSynced", why);
        conditions.carry(PEER_SET_CONDITIONS).carry(CHAIN_CONDITIONS);
        return keptFromOld();
    }

    /** The chain source cannot decide yet: the last rendered peer set and addresses stay in force. */
    VpnNetworkStatus waitingForChain(VpnNetworkStatus.ChainPosition position) {
        conditions.set(Conditions.READY, false, "ChainNotSynced",
                "waiting for the chain follower's first sync; the last rendered peer set stays in force");
        conditions.carry(PEER_SET_CONDITIONS);
        VpnNetworkStatus s = keptFromOld();
        s.chain = position;
        return s;
    }

    /**
     * The reconcile threw (an API write failed, say) and JOSDK will retry: Ready says so, and everything else
     * stays as the last pass left it, conditions included, since nothing was decided anew.
     */
    VpnNetworkStatus reconcileFailed(Exception e) {
        conditions.set(Conditions.READY, false, RECONCILE_FAILED, "the last reconcile failed and is retried: " + Failures.describe(e));
        conditions.carry(Conditions.SPEC_VALID).carry(PEER_SET_CONDITIONS).carry(CHAIN_CONDITIONS);
        return keptFromOld();
    }

    /** @param chain the chain source's position, null without one */
    VpnNetworkStatus planned(NetworkPlan plan, VpnNetworkStatus.ChainPosition chain) {
        if (plan.fits()) {
            conditions.set(Conditions.PEER_SET_RENDERED, true, "Rendered",
                    "peer set generation " + plan.peerSet().generation() + " with " + plan.peerSet().peers().size() + " peers");
        } else {
            conditions.set(Conditions.PEER_SET_RENDERED, false, "PeerSetTooLarge",
                    "a peer-set object would be " + plan.layout().largestObjectBytes() + " bytes even in "
                            + plan.layout().shards().size() + " shards, over the limit of one object; agents keep the last generation (see docs/adr/0002)");
        }
        if (plan.addresses().exhausted().isEmpty()) {
            conditions.set(Conditions.ADDRESS_POOL_AVAILABLE, true, "AddressesAvailable",
                    plan.addresses().assigned().size() + " of " + plan.addresses().capacity() + " addresses in use");
        } else {
            conditions.set(Conditions.ADDRESS_POOL_AVAILABLE, false, "AddressPoolExhausted", poolExhausted(plan));
        }

        VpnNetworkStatus s = new VpnNetworkStatus();
        s.observedGeneration = generation;
        s.peers = peerCounts(plan.peers());
        s.addresses = new VpnNetworkStatus.AddressUsage();
        s.addresses.capacity = plan.addresses().capacity();
        s.addresses.allocated = plan.addresses().assigned().size();
        s.peerSet = new VpnNetworkStatus.PeerSetRef();
        s.peerSet.configMap = PeerSetCodec.configMapName(network.getMetadata().getName());
        s.peerSet.generation = plan.peerSet().generation();
        s.peerSet.peers = plan.peerSet().peers().size();
        s.peerSet.bytes = plan.bytes();
        s.peerSet.shards = plan.layout().shards().size();
        s.convergence = new VpnNetworkStatus.Convergence();
        s.convergence.generation = plan.convergence().generation();
        s.convergence.nodesApplied = plan.convergence().nodesApplied();
        s.convergence.nodesTotal = plan.convergence().nodesTotal();
        s.chain = chain;
        ready(plan, s.peers);
        s.conditions = conditions.build();
        return s;
    }

    /** The AddressPoolAvailable=False message, also the text of the AddressPoolExhausted Event. */
    static String poolExhausted(NetworkPlan plan) {
        return "address pool " + plan.cidr() + " is exhausted (" + plan.addresses().capacity() + " addresses); waiting for an address: "
                + String.join(", ", plan.addresses().exhausted());
    }

    /** Ready once the set is written, every peer that needs an address has one, and a chain source is synced. */
    private void ready(NetworkPlan plan, VpnNetworkStatus.PeerCounts peers) {
        List<String> unaddressed = new ArrayList<>(plan.addresses().exhausted());
        plan.addresses().rejected().forEach((peer, why) -> unaddressed.add(peer + " (" + why + ")"));
        boolean chainSynced = network.getSpec().access.chain == null || conditions.isTrue(Conditions.CHAIN_SYNCED);
        if (plan.fits() && unaddressed.isEmpty() && chainSynced) {
            conditions.set(Conditions.READY, true, "PeerSetRendered",
                    peers.active + " of " + peers.total + " peers active; peer set generation " + plan.peerSet().generation());
        } else if (!plan.fits()) {
            conditions.set(Conditions.READY, false, "PeerSetNotRendered", "the peer set could not be written; see condition PeerSetRendered");
        } else if (!unaddressed.isEmpty()) {
            conditions.set(Conditions.READY, false, "PeersWithoutAddress", "admitted peers without an address: " + String.join("; ", unaddressed));
        } else {
            conditions.set(Conditions.READY, false, "ChainNotSynced", "the chain source has trouble; see condition ChainSynced");
        }
    }

    private static VpnNetworkStatus.PeerCounts peerCounts(NetworkPlan.PeerCounts counts) {
        VpnNetworkStatus.PeerCounts c = new VpnNetworkStatus.PeerCounts();
        c.total = counts.total();
        c.active = counts.of(VpnPeerPhase.Active);
        c.pending = counts.of(VpnPeerPhase.Pending);
        c.suspended = counts.of(VpnPeerPhase.Suspended);
        c.revoked = counts.of(VpnPeerPhase.Revoked);
        c.denied = counts.of(VpnPeerPhase.Denied);
        c.outside = counts.outside() == 0 ? null : counts.outside();
        return c;
    }

    /** An early end: the counts, addresses, peer set, convergence and chain position of the last full pass. */
    private VpnNetworkStatus keptFromOld() {
        VpnNetworkStatus s = new VpnNetworkStatus();
        if (old != null) {
            s.peers = old.peers;
            s.addresses = old.addresses;
            s.peerSet = old.peerSet;
            s.convergence = old.convergence;
            s.chain = old.chain;
        }
        s.observedGeneration = generation;
        s.conditions = conditions.build();
        return s;
    }
}
