package io.dstack.vpn.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.peerset.PeerSetIndex;
import io.dstack.vpn.api.peerset.PeerSetShard;
import io.dstack.vpn.api.peerset.PeerSetShards;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;

class PeerSetWatcherTest {
    static final String INDEX = PeerSetCodec.configMapName("n");

    static PeerSet set(long g, String... nodeIds) {
        List<PeerSet.Peer> peers = new ArrayList<>();
        for (String id : nodeIds) {
            peers.add(new PeerSet.Peer(id, "key-" + id, "10.99.0." + (peers.size() + 1), null, "UDP", null));
        }
        return new PeerSet("n", g, "10.99.0.0/24", 51820, 1420, "Mesh", null, null, peers);
    }

    /** The layout before sharding: the whole set in {@code <network>-peerset}. */
    static ConfigMap generation(long g) {
        return configMap(INDEX, PeerSetCodec.PEERS_KEY, PeerSetCodec.encode(set(g)));
    }

    static ConfigMap configMap(String name, String key, String json) {
        return new ConfigMapBuilder().withNewMetadata().withName(name).endMetadata().addToData(key, json).build();
    }

    /** Shard {@code k} of {@code set} in a layout of {@code of}, written at {@code generation}. */
    static ConfigMap shard(PeerSet set, int k, int of, long generation) {
        List<PeerSet.Peer> peers = PeerSetShards.split(set.peers(), of).get(k);
        return configMap(PeerSetShards.shardName("n", k, of), PeerSetCodec.PEERS_KEY,
                PeerSetCodec.encodeShard(new PeerSetShard("n", k, of, generation, peers)));
    }

    /** The index of {@code set} in a layout of {@code of}, listing shard k at {@code shardGenerations[k]}. */
    static ConfigMap index(PeerSet set, int of, long... shardGenerations) {
        List<List<PeerSet.Peer>> split = PeerSetShards.split(set.peers(), of);
        List<PeerSetIndex.ShardRef> refs = new ArrayList<>();
        for (int k = 0; k < of; k++) {
            refs.add(new PeerSetIndex.ShardRef(PeerSetShards.shardName("n", k, of), shardGenerations[k], split.get(k).size()));
        }
        return configMap(INDEX, PeerSetCodec.INDEX_KEY, PeerSetCodec.encodeIndex(PeerSetIndex.of(set, refs)));
    }

    static final ConfigMap UNREADABLE = configMap(INDEX, PeerSetCodec.PEERS_KEY, "{not json");
    static final ConfigMap EMPTY = new ConfigMapBuilder().withNewMetadata().withName(INDEX).endMetadata().build();
    static final ConfigMap OTHER_KEY = new ConfigMapBuilder().withNewMetadata().withName(INDEX).endMetadata().withData(Map.of("other", "x")).build();

    /** A watcher whose apply thread runs only when the test says so; {@link #applied} records each apply's generation. */
    static final class Harness {
        final Queue<Runnable> applyThread = new ArrayDeque<>();
        final List<Long> applied = new ArrayList<>();
        final PeerSetWatcher watcher;

        Harness() {
            PeerSetWatcher[] w = new PeerSetWatcher[1];
            w[0] = new PeerSetWatcher("n", applyThread::add, () -> applied.add(w[0].latest().index().generation()));
            watcher = w[0];
        }

        /** Delivers the objects, then lets the apply thread run. */
        Harness receive(ConfigMap... objects) {
            for (ConfigMap cm : objects) {
                watcher.received(cm);
            }
            while (!applyThread.isEmpty()) {
                applyThread.poll().run();
            }
            return this;
        }

        Long latestGeneration() {
            return watcher.latest() == null ? null : watcher.latest().index().generation();
        }

        PeerSet latestWhole() {
            return watcher.latest().whole();
        }
    }

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
    void onlyTheNewestLegacyPeerSetIsApplied(String name, List<ConfigMap> updates, List<Long> applied) {
        Harness h = new Harness().receive(updates.toArray(ConfigMap[]::new));
        assertThat(h.applied).isEqualTo(applied);
        assertThat(h.latestGeneration()).isEqualTo(applied.isEmpty() ? null : applied.getLast());
    }

    @Test
    void aShardedSetIsAssembledFromItsIndexAndShardsInAnyOrder() {
        PeerSet set = set(3, "a", "b", "c", "d", "e", "f", "g");
        Harness h = new Harness().receive(shard(set, 1, 2, 3));
        assertThat(h.latestGeneration()).as("no index yet").isNull();
        h.receive(index(set, 2, 2, 3));
        assertThat(h.latestGeneration()).as("shard 0 missing").isNull();
        h.receive(shard(set, 0, 2, 2));
        assertThat(h.applied).containsExactly(3L);
        assertThat(h.latestWhole()).isEqualTo(set);
    }

    @Test
    void anIndexAheadOfAShardKeepsTheLastCompleteSet() {
        PeerSet one = set(1, "a", "b", "c", "d");
        PeerSet two = set(2, "a", "b", "c", "d", "e");
        int changed = PeerSetShards.shardOf("e", 2);
        long[] gens = {1, 1};
        Harness h = new Harness().receive(shard(one, 0, 2, 1), shard(one, 1, 2, 1), index(one, 2, gens));
        gens[changed] = 2;
        h.receive(index(two, 2, gens));
        assertThat(h.applied).as("the index lists shard %d at 2, which has not arrived", changed).containsExactly(1L);
        assertThat(h.latestWhole()).isEqualTo(one);
        h.receive(shard(two, changed, 2, 2));
        assertThat(h.applied).containsExactly(1L, 2L);
        assertThat(h.latestWhole()).isEqualTo(two);
    }

    @Test
    void anUnreadableShardIsIgnoredAndItsLastReadableVersionKept() {
        PeerSet one = set(1, "a", "b", "c", "d");
        Harness h = new Harness().receive(shard(one, 0, 2, 1), shard(one, 1, 2, 1), index(one, 2, 1, 1));
        h.receive(configMap(PeerSetShards.shardName("n", 0, 2), PeerSetCodec.PEERS_KEY, "{not json"),
                configMap(PeerSetShards.shardName("n", 1, 2), PeerSetCodec.PEERS_KEY, "{\"network\":\"n\"}"));
        assertThat(h.applied).as("nothing new to apply").containsExactly(1L);
        // The index is rewritten with the same shards: the last readable versions still make it complete.
        PeerSet again = one.withGeneration(2);
        h.receive(index(again, 2, 1, 1));
        assertThat(h.applied).containsExactly(1L, 2L);
        assertThat(h.latestWhole()).isEqualTo(again);
        // An unreadable index changes nothing either.
        h.receive(configMap(INDEX, PeerSetCodec.INDEX_KEY, "[]"));
        assertThat(h.applied).containsExactly(1L, 2L);
    }

    @Test
    void aReshardIsAppliedOnlyOnceTheNewLayoutIsComplete() {
        PeerSet one = set(1, "a", "b", "c", "d", "e", "f");
        PeerSet two = set(2, "a", "b", "c", "d", "e", "f", "g");
        Harness h = new Harness().receive(shard(one, 0, 1, 1), index(one, 1, 1));
        assertThat(h.applied).containsExactly(1L);
        // The operator writes the new layout's shards, then the index, then deletes the old shard.
        h.receive(shard(two, 0, 2, 2));
        assertThat(h.applied).as("a shard the index does not list changes nothing").containsExactly(1L);
        h.receive(shard(two, 1, 2, 2), index(two, 2, 2, 2));
        assertThat(h.applied).containsExactly(1L, 2L);
        assertThat(h.latestWhole()).isEqualTo(two);
        h.watcher.deleted(shard(one, 0, 1, 1));
        assertThat(h.latestWhole()).isEqualTo(two);
    }

    @Test
    void theIndexOfANewLayoutBeforeItsShardsKeepsTheOldLayoutInForce() {
        PeerSet one = set(1, "a", "b", "c", "d", "e", "f");
        PeerSet two = set(2, "a", "b", "c", "d", "e", "f", "g");
        Harness h = new Harness().receive(shard(one, 0, 1, 1), index(one, 1, 1));
        h.receive(index(two, 2, 2, 2), shard(two, 1, 2, 2));
        assertThat(h.applied).containsExactly(1L);
        assertThat(h.latestWhole()).isEqualTo(one);
        h.receive(shard(two, 0, 2, 2));
        assertThat(h.applied).containsExactly(1L, 2L);
    }

    @Test
    void deletesKeepTheLastCompleteSet() {
        PeerSet one = set(1, "a", "b", "c", "d");
        Harness h = new Harness().receive(shard(one, 0, 2, 1), shard(one, 1, 2, 1), index(one, 2, 1, 1));
        h.watcher.deleted(index(one, 2, 1, 1));
        h.watcher.deleted(shard(one, 1, 2, 1));
        assertThat(h.latestWhole()).isEqualTo(one);
        // The operator renders the index again; the deleted shard is missing until it is written again.
        h.receive(index(one.withGeneration(2), 2, 1, 1));
        assertThat(h.applied).containsExactly(1L);
        h.receive(shard(one, 1, 2, 1));
        assertThat(h.applied).containsExactly(1L, 2L);
    }

    @Test
    void theLegacyLayoutGivesWayToTheShardedOne() {
        PeerSet two = set(2, "a", "b", "c");
        Harness h = new Harness().receive(generation(1));
        h.receive(shard(two, 0, 1, 2), index(two, 1, 2));
        assertThat(h.applied).containsExactly(1L, 2L);
        assertThat(h.latestWhole()).isEqualTo(two);
        assertThat(h.watcher.latest().legacy()).isNull();
    }

    @Test
    void shardsOfAnotherNetworkAreIgnored() {
        PeerSet one = set(1, "a", "b");
        Harness h = new Harness().receive(shard(one, 0, 1, 1), index(one, 1, 1));
        ConfigMap foreign = configMap("other-peerset-0-of-1", PeerSetCodec.PEERS_KEY, "{not json");
        h.receive(foreign);
        assertThat(h.applied).containsExactly(1L);
    }
}
