package io.dstack.vpn.agent.nodeapi;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetShards;
import io.fabric8.kubernetes.api.model.ConfigMap;

/** What the node API serves from a network's stored peer-set objects, and who it counts as a member. */
class PeerSetMirrorTest {
    static final String NET = "mesh";
    static final String KEY_A = "dSU0UPknJdMWd9Sfd3c/MBXMAe7aDYKE2uMWBjpsfCE=";
    static final String KEY_B = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";

    final PeerSetObjects objects = new PeerSetObjects("ns", NET);
    final PeerSetMirror mirror = new PeerSetMirror(NET);

    static List<PeerSet.Peer> peers(int n) {
        List<PeerSet.Peer> peers = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            peers.add(PeerSetObjects.peer("node-" + i, i % 2 == 0 ? KEY_A : KEY_B, i));
        }
        return peers;
    }

    void deliver(List<ConfigMap> maps) {
        maps.forEach(mirror::received);
    }

    static List<String> names(List<ConfigMap> maps) {
        return maps.stream().map(cm -> cm.getMetadata().getName()).toList();
    }

    @Test
    void servesTheIndexAndOnlyTheShardsThatChangedSinceTheNodesGeneration() {
        deliver(objects.render(1, peers(8), 4));
        PeerSetSnapshot first = mirror.current();
        assertThat(names(first.objectsNewerThan(0))).hasSize(5);
        List<PeerSet.Peer> changed = peers(8);
        changed.add(PeerSetObjects.peer("node-9", KEY_A, 9));
        List<ConfigMap> stored = objects.render(2, changed, 4);
        stored.forEach(cm -> {
            cm.getMetadata().setUid("uid-1");
            cm.getMetadata().setManagedFields(List.of(new io.fabric8.kubernetes.api.model.ManagedFieldsEntryBuilder().withManager("op").build()));
            cm.getMetadata().setOwnerReferences(List.of(new io.fabric8.kubernetes.api.model.OwnerReferenceBuilder().withName("mesh").build()));
        });
        deliver(stored);
        PeerSetSnapshot second = mirror.current();
        assertThat(names(second.objectsNewerThan(1)))
                .containsExactly("mesh-peerset", PeerSetShards.shardName(NET, PeerSetShards.shardOf("node-9", 4), 4));
        assertThat(names(second.objectsNewerThan(0))).as("a node with nothing gets everything").hasSize(5);
        for (ConfigMap served : second.objectsNewerThan(1)) {
            assertThat(served.getMetadata().getManagedFields()).as("trimmed").isNullOrEmpty();
            assertThat(served.getMetadata().getOwnerReferences()).isNullOrEmpty();
            assertThat(served.getMetadata().getUid()).isNull();
            assertThat(served.getData()).isEqualTo(stored.stream().filter(cm -> cm.getMetadata().getName().equals(served.getMetadata().getName()))
                    .findFirst().orElseThrow().getData());
        }
    }

    @Test
    void afterAReshardANodeOfTheOldLayoutGetsEveryShard() {
        deliver(objects.render(1, peers(8), 2));
        deliver(objects.render(2, peers(8), 4));
        assertThat(mirror.current().layoutSince()).isEqualTo(2);
        assertThat(names(mirror.current().objectsNewerThan(1))).hasSize(5);
        deliver(objects.render(3, peers(9), 4));
        assertThat(mirror.current().layoutSince()).isEqualTo(2);
        assertThat(names(mirror.current().objectsNewerThan(2))).hasSize(2);
    }

    /**
     * The operator gives a new layout's shards the reshard's generation, but the rule does not rely on it: a node
     * that knows a generation from before this layout gets every shard, whatever generations they carry.
     */
    @Test
    void aNodeOfAnOlderLayoutGetsEveryShardWhateverTheirGenerations() {
        objects.render(1, peers(8), 4); // shards named -of-4 at generation 1, remembered by the renderer
        deliver(objects.render(1, peers(8), 2));
        deliver(objects.render(2, peers(8), 4)); // their peers are unchanged: they keep generation 1
        assertThat(mirror.current().shardObjects()).hasSize(4);
        assertThat(names(mirror.current().objectsNewerThan(1))).hasSize(5);
    }

    @Test
    void anIncompleteSetIsNotServedAndWakesNobody() {
        List<ConfigMap> one = objects.render(1, peers(8), 2);
        deliver(one);
        AtomicInteger woken = new AtomicInteger();
        mirror.listen(woken::incrementAndGet);
        List<ConfigMap> two = objects.render(2, peers(9), 2);
        mirror.received(two.get(0)); // the index alone: its changed shard has not arrived
        assertThat(mirror.current().generation()).isEqualTo(1);
        assertThat(woken).hasValue(0);
        two.subList(1, two.size()).forEach(mirror::received);
        assertThat(mirror.current().generation()).isEqualTo(2);
        assertThat(woken.get()).isPositive();
    }

    @Test
    void anUnreadableObjectIsNeverServedItsLastReadableVersionIs() {
        List<ConfigMap> good = objects.render(1, peers(8), 2);
        deliver(good);
        // A shard turns unreadable; then another shard changes, so a new set is published without it being rewritten.
        String brokenName = PeerSetShards.shardName(NET, 1 - PeerSetShards.shardOf("node-9", 2), 2);
        ConfigMap broken = PeerSetMirror.trimmed(good.stream().filter(cm -> cm.getMetadata().getName().equals(brokenName)).findFirst().orElseThrow());
        broken.setData(java.util.Map.of(io.dstack.vpn.api.peerset.PeerSetCodec.PEERS_KEY, "{not json"));
        mirror.received(broken);
        List<PeerSet.Peer> changed = peers(8);
        changed.add(PeerSetObjects.peer("node-9", KEY_A, 9));
        List<ConfigMap> next = objects.render(2, changed, 2);
        deliver(next.stream().filter(cm -> !cm.getMetadata().getName().equals(brokenName)).toList());
        assertThat(mirror.current().generation()).isEqualTo(2);
        for (ConfigMap served : mirror.current().objectsNewerThan(0)) {
            assertThat(served.getData().values()).as(served.getMetadata().getName()).noneMatch(v -> v.startsWith("{not json"));
        }
    }

    @Test
    void membershipIsTheNodeIdWithItsKeyInTheNewestSet() {
        deliver(objects.render(1, peers(8), 4));
        assertThat(mirror.current().publicKeyOf("node-2")).contains(KEY_A);
        assertThat(mirror.current().publicKeyOf("node-3")).contains(KEY_B);
        assertThat(mirror.current().publicKeyOf("node-9")).isEmpty();
        deliver(objects.render(2, peers(7), 4));
        assertThat(mirror.current().publicKeyOf("node-8")).isEmpty();
    }

    @Test
    void theLayoutBeforeShardingIsServedAsItsOneObject() {
        mirror.received(objects.legacy(4, peers(3)));
        assertThat(mirror.current().generation()).isEqualTo(4);
        assertThat(names(mirror.current().objectsNewerThan(3))).containsExactly("mesh-peerset");
        assertThat(mirror.current().publicKeyOf("node-1")).contains(KEY_B);
        assertThat(mirror.current().publicKeyOf("node-4")).isEmpty();
    }

    @Test
    void aDeletedIndexChangesNothingADeletedShardIsDropped() {
        List<ConfigMap> maps = objects.render(1, peers(8), 2);
        deliver(maps);
        mirror.deleted(maps.get(0));
        deliver(objects.render(2, peers(9), 2).subList(1, 3)); // shards only; the old index still lists them
        assertThat(mirror.current().indexObject()).isNotNull();
        assertThat(mirror.current().generation()).isEqualTo(1);
    }
}
