package io.dstack.vpn.operator.network;

import static io.dstack.vpn.api.v1alpha1.VpnPeerPhase.Active;
import static io.dstack.vpn.operator.network.NetworkScenario.network;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.status.ConditionSet;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnNetworkStatus;
import io.dstack.vpn.operator.Fixtures;
import io.dstack.vpn.operator.events.EventRecorder;
import io.fabric8.kubernetes.api.model.HasMetadata;

class NetworkEventsTest {
    final List<String> recorded = new ArrayList<>();
    final EventRecorder recorder = new EventRecorder() {
        @Override
        public void normal(HasMetadata about, String reason, String message) {
            recorded.add("Normal " + reason + ": " + message);
        }

        @Override
        public void warning(HasMetadata about, String reason, String message) {
            recorded.add("Warning " + reason + ": " + message);
        }
    };

    @Test
    void everydayChangesGetOneEventPerNode() {
        new NetworkEvents(recorder, Fixtures.devNetwork()).membershipChanged(
                new NetworkPlan.MembershipChange(Set.of("node-a"), Set.of("node-b"), Map.of("node-c", "KEY")), 5);
        assertThat(recorded).containsExactly(
                "Normal PeerAdded: node node-a joined; peer set generation 5",
                "Normal PeerRemoved: node node-b left; peer set generation 5",
                "Normal PeerKeyRotated: node node-c now uses key KEY");
    }

    @Test
    void aMassChangeGetsOneEventNamingTheFirstFew() {
        Set<String> joined = IntStream.range(0, 12).mapToObj(i -> String.format("node-%02d", i)).collect(Collectors.toSet());
        new NetworkEvents(recorder, Fixtures.devNetwork()).membershipChanged(new NetworkPlan.MembershipChange(joined, Set.of(), Map.of()), 1);
        assertThat(recorded).containsExactly("Normal PeerAdded: 12 nodes joined (node-00, node-01, node-02, node-03, node-04, node-05, "
                + "node-06, node-07, node-08, node-09, and 2 more); peer set generation 1");
    }

    @Test
    void anExhaustedPoolIsAnnouncedOncePerTransition() {
        NetworkPlan full = network("10.0.0.0/30").peer("a", Fixtures.KEY_A, Active, null).peer("b", Fixtures.KEY_B, Active, null)
                .peer("c", Fixtures.KEY_A, Active, null).plan();
        VpnNetwork net = Fixtures.devNetwork();
        new NetworkEvents(recorder, net).poolExhausted(full);
        net.setStatus(statusWith(Conditions.ADDRESS_POOL_AVAILABLE, false));
        new NetworkEvents(recorder, net).poolExhausted(full);
        assertThat(recorded).containsExactly(
                "Warning AddressPoolExhausted: address pool 10.0.0.0/30 is exhausted (2 addresses); waiting for an address: c");
    }

    @Test
    void chainTroubleIsAnnouncedOncePerTransition() {
        VpnNetwork net = Fixtures.devNetwork();
        ConditionSet bad = new ConditionSet(null, 1, Clock.systemUTC())
                .set(Conditions.CHAIN_SYNCED, false, "ChainSourceFailed", "wrong chain id")
                .set(Conditions.CHAIN_DATA_VALID, false, "InvalidChainData", "1 unusable token(s)");
        new NetworkEvents(recorder, net).chainTrouble(bad);
        net.setStatus(new VpnNetworkStatus());
        net.getStatus().conditions = bad.build();
        new NetworkEvents(recorder, net).chainTrouble(bad);
        assertThat(recorded).containsExactly(
                "Warning InvalidChainData: 1 unusable token(s)",
                "Warning ChainSourceFailed: wrong chain id");
    }

    private static VpnNetworkStatus statusWith(String type, boolean value) {
        VpnNetworkStatus s = new VpnNetworkStatus();
        s.conditions = new ConditionSet(null, 1, Clock.systemUTC()).set(type, value, "Any", "any").build();
        return s;
    }
}
