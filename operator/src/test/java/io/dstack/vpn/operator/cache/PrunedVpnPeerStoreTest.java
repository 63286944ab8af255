package io.dstack.vpn.operator.cache;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.operator.Fixtures;
import io.fabric8.kubernetes.api.model.ManagedFieldsEntryBuilder;

class PrunedVpnPeerStoreTest {
    @Test
    void cachedPeersKeepEverythingButTheirManagedFields() {
        VpnPeer peer = Fixtures.peer("a", "node-a", Fixtures.KEY_A, "2026-01-01T00:00:00Z");
        peer.getMetadata().setManagedFields(List.of(new ManagedFieldsEntryBuilder().withManager("dstack-vpn-agent").withOperation("Apply").build()));
        PrunedVpnPeerStore store = new PrunedVpnPeerStore();
        String key = store.getKey(peer);

        store.put(key, peer);

        VpnPeer cached = store.get(key);
        assertThat(cached.getMetadata().getManagedFields()).isNullOrEmpty();
        assertThat(cached.getMetadata().getName()).isEqualTo("a");
        assertThat(cached.getSpec().nodeId).isEqualTo("node-a");
        assertThat(cached.getSpec().publicKey).isEqualTo(Fixtures.KEY_A);
        assertThat(store.size()).isEqualTo(1);
    }
}
