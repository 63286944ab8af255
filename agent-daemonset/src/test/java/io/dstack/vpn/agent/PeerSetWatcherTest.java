package io.dstack.vpn.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;

class PeerSetWatcherTest {

    static ConfigMap generation(long g) {
        PeerSet set = new PeerSet("n", g, "10.99.0.0/24", 51820, 1420, "Mesh", null, null, List.of());
        return new ConfigMapBuilder().addToData(PeerSetCodec.PEERS_KEY, PeerSetCodec.encode(set)).build();
    }

    static final ConfigMap UNREADABLE = new ConfigMapBuilder().addToData(PeerSetCodec.PEERS_KEY, "{not json").build();
    static final ConfigMap EMPTY = new ConfigMapBuilder().build();
    static final ConfigMap OTHER_KEY = new ConfigMapBuilder().withData(Map.of("other", "x")).build();

    /** Updates arriving before the apply thread runs; what the applier then sees. */
    static Stream<Arguments> bursts() {
        return Stream.of(
                Arguments.of("one update", List.of(generation(1)), List.of(1L)),
                Arguments.of("a burst collapses into its newest", List.of(generation(1), generation(2), generation(3)), List.of(3L)),
                Arguments.of("an unreadable update is skipped", List.of(generation(1), UNREADABLE), List.of(1L)),
                Arguments.of("no data", List.of(EMPTY, OTHER_KEY), List.of()),
                Arguments.of("nothing readable yet", List.of(UNREADABLE), List.of()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bursts")
    void onlyTheNewestPeerSetIsApplied(String name, List<ConfigMap> updates, List<Long> applied) {
        Queue<Runnable> applyThread = new ArrayDeque<>();
        List<Long> seen = new ArrayList<>();
        PeerSetWatcher[] watcher = new PeerSetWatcher[1];
        watcher[0] = new PeerSetWatcher(applyThread::add, () -> seen.add(watcher[0].latest().generation()));
        updates.forEach(watcher[0]::received);
        applyThread.forEach(Runnable::run);
        assertThat(seen).isEqualTo(applied);
        assertThat(watcher[0].latest() == null ? null : watcher[0].latest().generation())
                .isEqualTo(applied.isEmpty() ? null : applied.getLast());
    }
}
