package io.dstack.vpn.operator.chain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.RETURNS_DEEP_STUBS;
import static org.mockito.Mockito.mock;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;

/** The delete handler hands the deleted network to {@link ChainSources#networkDeleted} and triggers no reconcile. */
class ChainSourceCleanupTest {

    @Test
    @SuppressWarnings("unchecked")
    void aDeleteEventStopsThatNetworksSource() {
        List<String> stopped = new ArrayList<>();
        ChainSources sources = new ChainSources() {
            @Override
            public void networkDeleted(VpnNetwork network) {
                stopped.add(network.getMetadata().getUid());
            }
        };
        ChainSourceCleanup cleanup = new ChainSourceCleanup(mock(EventSourceContext.class, RETURNS_DEEP_STUBS), sources);

        cleanup.onDelete(ChainSourceLifecycleTest.chainNetwork("a", "uid-a"), true);

        assertThat(stopped).containsExactly("uid-a");
        assertThat(cleanup.name()).isEqualTo(ChainSourceCleanup.NAME);
    }
}
