package io.dstack.vpn.operator.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.api.v1alpha1.VpnPeerStatus;
import io.dstack.vpn.operator.Fixtures;
import io.dstack.vpn.operator.RecordedWrites;
import io.dstack.vpn.operator.RecordedWrites.StatusWrite;
import io.dstack.vpn.operator.access.ScriptedAccess;
import io.dstack.vpn.operator.chain.ChainSources;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.IndexedResourceCache;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/** The peer reconciler in the test JVM with a mocked JOSDK Context: its decision → the admission status it applies. */
class VpnPeerReconcilerTest {
    final KubernetesSerialization serialization = new KubernetesSerialization();
    final ScriptedAccess access = new ScriptedAccess();
    final RecordedWrites.Statuses statuses = new RecordedWrites.Statuses();
    final RecordedWrites.Events events = new RecordedWrites.Events();
    final VpnPeerReconciler reconciler = new VpnPeerReconciler();
    final List<VpnPeer> peers = new CopyOnWriteArrayList<>();
    VpnNetwork network = Fixtures.devNetwork();

    @BeforeEach
    void wire() {
        reconciler.membership = access.resolver();
        reconciler.statusApplier = statuses;
        reconciler.events = events;
        reconciler.metrics = new PeerMetrics();
        reconciler.metrics.registry = new SimpleMeterRegistry();
        reconciler.chainSources = new ChainSources();
    }

    @ParameterizedTest(name = "{0} → {1}, {2}")
    @CsvSource({
            "Active,    True,  Normal AccessGranted",
            "Revoked,   False, Warning AccessRevoked",
            "Denied,    False, Warning AccessDenied",
            "Suspended, False, Warning AccessSuspended",
            "Pending,   False, Normal AccessPending"})
    void theDecisionBecomesThePhaseAndTheAdmittedCondition(VpnPeerPhase phase, String admitted, String event) {
        VpnPeer a = peer("a");
        access.phase("node-a", phase);

        UpdateControl<VpnPeer> control = reconcile(a);

        assertThat(control.isNoUpdate()).isTrue();
        assertThat(control.getScheduleDelay()).isEmpty();
        StatusWrite write = onlyWrite();
        assertThat(write.name()).isEqualTo("a");
        assertThat(write.fieldManager()).isEqualTo(VpnLabels.FIELD_MANAGER_ADMISSION);
        assertThat(write.fields()).containsEntry("phase", phase.name()).containsEntry("reason", "Scripted" + phase)
                .containsEntry("observedGeneration", 3L).doesNotContainKey("token");
        Condition condition = ((List<?>) write.fields().get("conditions")).stream().map(Condition.class::cast).findFirst().orElseThrow();
        assertThat(condition.getType()).isEqualTo("Admitted");
        assertThat(condition.getStatus()).isEqualTo(admitted);
        assertThat(condition.getReason()).isEqualTo("Scripted" + phase);
        assertThat(events.recorded).containsExactly(event);
    }

    @Test
    void aPeerOfAMissingNetworkIsPending() {
        network = null;

        reconcile(peer("a"));

        assertThat(onlyWrite().fields()).containsEntry("phase", "Pending").containsEntry("reason", "NetworkNotFound")
                .containsEntry("message", "VpnNetwork net does not exist in namespace ns");
        assertThat(events.recorded).containsExactly("Normal AccessPending");
    }

    @Test
    void theYoungerOfTwoPeersWithOneNodeIdIsDeniedAndRecheckedLater() {
        peer("old");
        VpnPeer young = peer("young");
        young.getSpec().nodeId = "node-old";

        UpdateControl<VpnPeer> control = reconcile(young);

        assertThat(onlyWrite().fields()).containsEntry("phase", "Denied").containsEntry("reason", "DuplicateNodeId");
        assertThat(control.getScheduleDelay()).contains(VpnPeerReconciler.DUPLICATE_RECHECK.toMillis());
    }

    @Test
    void anUnchangedAdmissionIsNotWrittenAgain() {
        VpnPeer a = peer("a");
        reconcile(a);
        a.setStatus(serialization.convertValue(onlyWrite().fields(), VpnPeerStatus.class));
        statuses.writes.clear();
        events.recorded.clear();

        reconcile(a);

        assertThat(statuses.writes).isEmpty();
        assertThat(events.recorded).isEmpty();
    }

    @Test
    void aSourceThatCannotDecideYetKeepsTheLastReport() {
        access.ready(false).phase("node-a", VpnPeerPhase.Revoked);

        UpdateControl<VpnPeer> control = reconcile(peer("a"));

        assertThat(control.isNoUpdate()).isTrue();
        assertThat(statuses.writes).isEmpty();
        assertThat(events.recorded).isEmpty();
    }

    @Test
    void aFailedPassRecordsAWarningAndLeavesTheStatus() {
        VpnPeer a = peer("a");

        ErrorStatusUpdateControl<VpnPeer> control = reconciler.updateErrorStatus(a, context(), new IllegalStateException("conflict"));

        assertThat(control.getResource()).isEmpty();
        assertThat(control.isDefaultErrorProcessing()).isFalse();
        assertThat(events.recorded).containsExactly("Warning ReconcileFailed");
        assertThat(statuses.writes).isEmpty();
    }

    private VpnPeer peer(String name) {
        VpnPeer p = Fixtures.peer(name, "node-" + name, Fixtures.KEY_A, Instant.parse("2026-01-01T00:00:00Z").plusSeconds(peers.size()).toString());
        p.getMetadata().setGeneration(3L);
        peers.add(p);
        return p;
    }

    private UpdateControl<VpnPeer> reconcile(VpnPeer peer) {
        return reconciler.reconcile(serialization.clone(peer), context());
    }

    private StatusWrite onlyWrite() {
        assertThat(statuses.writes).hasSize(1);
        return statuses.writes.get(0);
    }

    @SuppressWarnings("unchecked")
    private Context<VpnPeer> context() {
        Context<VpnPeer> context = mock(Context.class);
        when(context.getSecondaryResource(VpnNetwork.class)).thenReturn(Optional.ofNullable(network));
        IndexedResourceCache<VpnPeer> cache = mock(IndexedResourceCache.class);
        when(cache.byIndex(eq(VpnPeerReconciler.BY_NODE_ID), anyString())).thenAnswer(i -> peers.stream()
                .filter(p -> VpnPeerReconciler.nodeKey("ns", p.getSpec().network, p.getSpec().nodeId).equals(i.getArgument(1)))
                .toList());
        when(context.getPrimaryCache()).thenReturn(cache);
        return context;
    }
}
