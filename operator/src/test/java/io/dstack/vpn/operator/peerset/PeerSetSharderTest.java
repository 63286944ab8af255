package io.dstack.vpn.operator.peerset;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.peerset.PeerSetShard;
import io.dstack.vpn.api.peerset.PeerSetShards;
import io.dstack.vpn.api.peerset.StoredPeerSet;

class PeerSetSharderTest {
    /** About 150 bytes a peer: 8 KiB shards hold ~50, so 200 peers need 4 or 8 shards. */
    static final PeerSetSharder.Limits SMALL = new PeerSetSharder.Limits(8 * 1024, 900 * 1024, 64);

    @Test
    void aSmallNetworkIsOneShard() {
        PeerSetLayout layout = layout(set(1, peers(3)), null);
        assertThat(layout.shards()).extracting(PeerSetLayout.Shard::name).containsExactly("net-peerset-0-of-1");
        assertThat(layout.index().shards()).extracting(r -> r.generation()).containsExactly(1L);
    }

    @Test
    void shardsDoubleUntilEachIsWithinTheTargetAndEveryPeerIsInItsHashedShard() {
        PeerSetLayout layout = layout(set(1, peers(200)), null);
        int count = layout.shards().size();
        assertThat(Integer.bitCount(count)).isEqualTo(1);
        assertThat(count).isGreaterThanOrEqualTo(4);
        assertThat(layout.shards()).allSatisfy(s -> {
            assertThat(s.bytes()).isLessThanOrEqualTo(SMALL.shardTargetBytes());
            s.shard().peers().forEach(p -> assertThat(PeerSetShards.shardOf(p.nodeId(), count)).isEqualTo(s.shard().shard()));
            // each node's address record sits with it
            assertThat(PeerSetCodec.decodeAllocations(s.allocationsJson()).keySet())
                    .isEqualTo(s.shard().peers().stream().map(p -> "peer-" + p.nodeId()).collect(java.util.stream.Collectors.toSet()));
        });
        assertThat(layout.shards().stream().mapToInt(s -> s.shard().peers().size()).sum()).isEqualTo(200);
        assertThat(layout.index().shards()).extracting(r -> r.peers())
                .isEqualTo(layout.shards().stream().map(s -> s.shard().peers().size()).toList());
    }

    @Test
    void aOnePeerChangeRewritesOneShardAndTheOthersKeepTheirGeneration() {
        List<PeerSet.Peer> before = peers(200);
        PeerSetLayout first = layout(set(5, before), null);
        List<PeerSet.Peer> after = new ArrayList<>(before);
        PeerSet.Peer revoked = after.remove(77);
        PeerSetLayout second = layout(set(6, after), stored(first));

        assertThat(second.shards()).hasSameSizeAs(first.shards());
        int changedShard = PeerSetShards.shardOf(revoked.nodeId(), first.shards().size());
        for (int k = 0; k < second.shards().size(); k++) {
            PeerSetLayout.Shard s = second.shards().get(k);
            if (k == changedShard) {
                assertThat(s.shard().generation()).isEqualTo(6);
                assertThat(s.peersJson()).isNotEqualTo(first.shards().get(k).peersJson());
            } else {
                assertThat(s.shard().generation()).isEqualTo(5);
                assertThat(s.peersJson()).isEqualTo(first.shards().get(k).peersJson());
            }
        }
        assertThat(second.index().generation()).isEqualTo(6);
    }

    @Test
    void theShardCountNeverShrinksOnItsOwn() {
        PeerSetLayout big = layout(set(1, peers(200)), null);
        PeerSetLayout shrunk = layout(set(2, peers(3)), stored(big));
        assertThat(shrunk.shards()).hasSameSizeAs(big.shards());
    }

    @Test
    void aLegacySingleObjectIsLaidOutAgainWithNoPeerLost() {
        PeerSet whole = set(9, peers(200));
        Map<String, String> allocations = new HashMap<>();
        whole.peers().forEach(p -> allocations.put("peer-" + p.nodeId(), p.address()));
        StoredPeerSet legacy = new StoredPeerSet(io.dstack.vpn.api.peerset.PeerSetIndex.of(whole, List.of()), whole, Map.of(), allocations);
        PeerSetLayout layout = layout(whole, legacy);
        StoredPeerSet read = stored(layout);
        assertThat(read.whole()).isEqualTo(whole);
        assertThat(read.allocations()).isEqualTo(allocations);
        assertThat(layout.index().generation()).isEqualTo(9);
    }

    @Test
    void atTheShardLimitALargeShardIsLeftForTheCallerToRefuse() {
        PeerSetLayout layout = PeerSetSharder.layout(set(1, peers(200)), holders(peers(200)), assigned(peers(200)), null,
                new PeerSetSharder.Limits(1024, 4096, 2));
        assertThat(layout.shards()).hasSize(2);
        assertThat(layout.largestObjectBytes()).isGreaterThan(4096);
    }

    static PeerSetLayout layout(PeerSet set, StoredPeerSet stored) {
        return PeerSetSharder.layout(set, holders(set.peers()), assigned(set.peers()), stored, SMALL);
    }

    /** What a reader assembles from the objects of {@code layout}. */
    static StoredPeerSet stored(PeerSetLayout layout) {
        Map<String, PeerSetShard> shards = new LinkedHashMap<>();
        Map<String, String> allocations = new HashMap<>();
        layout.shards().forEach(s -> {
            shards.put(s.name(), PeerSetCodec.decodeShard(s.peersJson()));
            allocations.putAll(PeerSetCodec.decodeAllocations(s.allocationsJson()));
        });
        return new StoredPeerSet(PeerSetCodec.decodeIndex(layout.indexJson()), null, shards, allocations);
    }

    static PeerSet set(long generation, List<PeerSet.Peer> peers) {
        return new PeerSet("net", generation, "10.0.0.0/16", 51820, 1420, "Mesh", null, null, List.copyOf(peers));
    }

    static List<PeerSet.Peer> peers(int n) {
        return IntStream.range(0, n).mapToObj(i -> new PeerSet.Peer(String.format("node-%04d", i),
                "dSU0Xc9gkcOhBv8c5HPXuMSEoYfq1y0GUcnK00hkZCE=", "10.0.%d.%d".formatted(i / 250, i % 250 + 1), "192.0.2.1:51820", "UDP", 25))
                .toList();
    }

    static Map<String, String> holders(List<PeerSet.Peer> peers) {
        Map<String, String> m = new HashMap<>();
        peers.forEach(p -> m.put("peer-" + p.nodeId(), p.nodeId()));
        return m;
    }

    static Map<String, String> assigned(List<PeerSet.Peer> peers) {
        Map<String, String> m = new HashMap<>();
        peers.forEach(p -> m.put("peer-" + p.nodeId(), p.address()));
        return m;
    }
}
