package io.dstack.vpn.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.dstack.vpn.agent.uapi.DeviceState;
import io.dstack.vpn.agent.uapi.PeerState;
import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.v1alpha1.VpnPeerStatus;

class StatusReporterTest {
    static final Instant NOW = Instant.parse("2026-01-01T12:00:00Z");
    static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

    static DeviceState deviceWithHandshakesAgo(long... secondsAgo) {
        Map<String, PeerState> peers = new LinkedHashMap<>();
        for (int i = 0; i < secondsAgo.length; i++) {
            long at = secondsAgo[i] < 0 ? 0 : NOW.getEpochSecond() - secondsAgo[i];
            peers.put("k" + i, new PeerState("k" + i, null, List.of(), 0, at, 100, 10));
        }
        return new DeviceState(51820, true, "self", peers);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            // handshakes, seconds ago (-1 = never) | recent | rx  | tx
            "''                                    | 0      | 0   | 0",
            "0                                     | 1      | 100 | 10",
            "180 181                               | 1      | 200 | 20",
            "-1 5 179                              | 2      | 300 | 30",
    })
    void recentHandshakesAndTrafficAreCounted(String ago, int recent, long rx, long tx) {
        long[] seconds = ago.isBlank() ? new long[0] : java.util.Arrays.stream(ago.trim().split(" ")).mapToLong(Long::parseLong).toArray();
        VpnPeerStatus status = StatusReporter.status(7, 3, deviceWithHandshakesAgo(seconds), null, "dvpn0", null, CLOCK);
        assertThat(status.applied.peersWithRecentHandshake).isEqualTo(recent);
        assertThat(status.applied.rxBytes).isEqualTo(rx);
        assertThat(status.applied.txBytes).isEqualTo(tx);
        assertThat(status.applied.generation).isEqualTo(7);
        assertThat(status.applied.peersConfigured).isEqualTo(3);
        assertThat(status.applied.time).isEqualTo("2026-01-01T12:00:00Z");
    }

    @Test
    void onlyTheAgentsFieldsAreSet() {
        VpnPeerStatus status = StatusReporter.status(7, 3, null, null, "dvpn0", null, CLOCK);
        assertThat(status.phase).isNull();
        assertThat(status.address).isNull();
        assertThat(status.observedGeneration).isNull();
        assertThat(status.conditions).singleElement().satisfies(c -> {
            assertThat(c.getType()).isEqualTo(Conditions.APPLIED);
            assertThat(c.getStatus()).isEqualTo(Conditions.TRUE);
            assertThat(c.getReason()).isEqualTo(StatusReporter.REASON_APPLIED);
            assertThat(c.getMessage()).isEqualTo("peer set generation 7 applied to dvpn0");
            assertThat(c.getObservedGeneration()).isNull();
        });
    }

    @Test
    void theTransitionTimeMovesOnlyBetweenSuccessAndFailure() {
        Clock later = Clock.fixed(NOW.plusSeconds(60), ZoneOffset.UTC);
        var first = StatusReporter.status(7, 3, null, null, "dvpn0", null, CLOCK).conditions;
        var stillOk = StatusReporter.status(8, 3, null, null, "dvpn0", first, later).conditions;
        assertThat(stillOk.getFirst().getLastTransitionTime()).isEqualTo("2026-01-01T12:00:00Z");
        var failed = StatusReporter.status(8, 0, null, "applying generation 9 failed: boom", "dvpn0", stillOk, later).conditions;
        assertThat(failed.getFirst().getLastTransitionTime()).isEqualTo("2026-01-01T12:01:00Z");
        assertThat(failed.getFirst().getStatus()).isEqualTo(Conditions.FALSE);
        assertThat(failed.getFirst().getReason()).isEqualTo(StatusReporter.REASON_FAILED);
        assertThat(failed.getFirst().getMessage()).isEqualTo("applying generation 9 failed: boom");
    }
}
