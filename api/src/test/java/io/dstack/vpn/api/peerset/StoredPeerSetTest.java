package io.dstack.vpn.api.peerset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;

class StoredPeerSetTest {
    static final String KEY = "dSU0Xc9gkcOhBv8c5HPXuMSEoYfq1y0GUcnK00hkZCE=";
    static final PeerSet.Peer A = new PeerSet.Peer("node-a", KEY, "10.0.0.1", null, "UDP", null);
    static final PeerSet.Peer B = new PeerSet.Peer("node-b", KEY, "10.0.0.2", null, "UDP", null);
    static final PeerSet.Peer C = new PeerSet.Peer("node-c", KEY, "10.0.0.3", null, "TCP", 25);
    static final PeerSet WHOLE = new PeerSet("net", 7, "10.0.0.0/24", 51820, 1420, "Mesh", null, 443, List.of(A, B, C));

    final List<String> problems = new ArrayList<>();

    @Test
    void theShardOfANodeIdIsThirtyTwoBitFnv1aModuloTheCount() {
        // FNV-1a("node-a") = 0x04c3b593, computed outside Java
        assertThat(PeerSetShards.shardOf("node-a", 16)).isEqualTo(0x04c3b593 % 16);
        assertThat(PeerSetShards.shardOf("node-a", 1)).isZero();
        assertThatThrownBy(() -> PeerSetShards.shardOf("node-a", 3)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PeerSetShards.shardOf("node-a", 512)).isInstanceOf(IllegalArgumentException.class);
        assertThat(PeerSetShards.shardName("net", 3, 16)).isEqualTo("net-peerset-3-of-16");
    }

    @Test
    void assemblesTheWholeSetFromTheIndexAndItsShardsSortedByNode() {
        var read = StoredPeerSet.from("net", sharded(7, 7), this::problem).orElseThrow();
        assertThat(read.complete()).isTrue();
        assertThat(read.whole()).isEqualTo(WHOLE);
        assertThat(read.allocations()).isEqualTo(Map.of("a", "10.0.0.1", "b", "10.0.0.2", "c", "10.0.0.3"));
        assertThat(read.shardCount()).isEqualTo(2);
        assertThat(problems).isEmpty();
    }

    @Test
    void aShardOlderThanTheIndexSaysMakesTheSetIncomplete() {
        var read = StoredPeerSet.from("net", sharded(7, 6), this::problem).orElseThrow();
        assertThat(read.complete()).isFalse();
    }

    @Test
    void aMissingOrUnreadableShardIsReportedAndTheSetIsIncomplete() {
        List<ConfigMap> objects = new ArrayList<>(sharded(7, 7));
        objects.set(2, new ConfigMapBuilder().withNewMetadata().withName("net-peerset-1-of-2").endMetadata()
                .addToData(PeerSetCodec.PEERS_KEY, "{\"peers\":[{oops").build());
        var read = StoredPeerSet.from("net", objects, this::problem).orElseThrow();
        assertThat(read.complete()).isFalse();
        assertThat(problems).singleElement().asString().startsWith("net-peerset-1-of-2: peer-set shard is not valid JSON");
        assertThat(StoredPeerSet.from("net", objects.subList(0, 2), this::problem).orElseThrow().complete()).isFalse();
    }

    @Test
    void theLayoutBeforeShardingIsReadAsAWholeSet() {
        ConfigMap legacy = new ConfigMapBuilder().withNewMetadata().withName("net-peerset").endMetadata()
                .addToData(PeerSetCodec.PEERS_KEY, PeerSetCodec.encode(WHOLE))
                .addToData(PeerSetCodec.ALLOCATIONS_KEY, "{\"a\":\"10.0.0.1\"}").build();
        var read = StoredPeerSet.from("net", List.of(legacy), this::problem).orElseThrow();
        assertThat(read.complete()).isTrue();
        assertThat(read.whole()).isEqualTo(WHOLE);
        assertThat(read.allocations()).isEqualTo(Map.of("a", "10.0.0.1"));
        assertThat(read.shardCount()).isEqualTo(1);
    }

    @Test
    void noIndexOrAnUnreadableOneIsNoStoredSet() {
        assertThat(StoredPeerSet.from("net", sharded(7, 7).subList(1, 3), this::problem)).isEmpty();
        ConfigMap bad = new ConfigMapBuilder().withNewMetadata().withName("net-peerset").endMetadata()
                .addToData(PeerSetCodec.INDEX_KEY, "[1,2").build();
        assertThat(StoredPeerSet.from("net", List.of(bad), this::problem)).isEmpty();
        assertThat(problems).singleElement().asString().startsWith("net-peerset: peer-set index is not valid JSON");
        ConfigMap noShards = new ConfigMapBuilder().withNewMetadata().withName("net-peerset").endMetadata()
                .addToData(PeerSetCodec.INDEX_KEY, "{\"network\":\"net\",\"generation\":1}").build();
        assertThat(StoredPeerSet.from("net", List.of(noShards), this::problem)).isEmpty();
    }

    @Test
    void shardsTheIndexDoesNotListAreIgnored() {
        List<ConfigMap> objects = new ArrayList<>(sharded(7, 7));
        objects.add(shard("net-peerset-0-of-4", 8, List.of(new PeerSet.Peer("node-x", KEY, "10.0.0.9", null, "UDP", null)), "{}"));
        assertThat(StoredPeerSet.from("net", objects, this::problem).orElseThrow().whole()).isEqualTo(WHOLE);
    }

    private void problem(String name, String message) {
        problems.add(name + ": " + message);
    }

    /** WHOLE in two shards (the split is arbitrary here: readers trust the index's names). */
    static List<ConfigMap> sharded(long indexGeneration, long shardGeneration) {
        PeerSetIndex index = PeerSetIndex.of(WHOLE, List.of(new PeerSetIndex.ShardRef("net-peerset-0-of-2", indexGeneration, 2),
                new PeerSetIndex.ShardRef("net-peerset-1-of-2", indexGeneration, 1)));
        ConfigMap indexMap = new ConfigMapBuilder().withNewMetadata().withName("net-peerset").endMetadata()
                .addToData(PeerSetCodec.INDEX_KEY, PeerSetCodec.encodeIndex(index)).build();
        return List.of(indexMap,
                shard("net-peerset-0-of-2", shardGeneration, List.of(C, A), "{\"a\":\"10.0.0.1\",\"c\":\"10.0.0.3\"}"),
                shard("net-peerset-1-of-2", shardGeneration, List.of(B), "{\"b\":\"10.0.0.2\"}"));
    }

    static ConfigMap shard(String name, long generation, List<PeerSet.Peer> peers, String allocations) {
        return new ConfigMapBuilder().withNewMetadata().withName(name).endMetadata()
                .addToData(PeerSetCodec.PEERS_KEY, PeerSetCodec.encodeShard(new PeerSetShard("net", 0, 2, generation, peers)))
                .addToData(PeerSetCodec.ALLOCATIONS_KEY, allocations).build();
    }
}
