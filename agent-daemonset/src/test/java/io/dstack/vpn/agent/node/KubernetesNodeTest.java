package io.dstack.vpn.agent.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;

class KubernetesNodeTest {
    private static final Node NODE = new NodeBuilder().withNewMetadata().withName("worker-1").withUid("0b6f6a4e-uid")
            .withLabels(Map.of("vpn.dstack.io/transport", "TCP")).endMetadata().build();

    @Test
    void ownsTheVpnPeerWithoutBlockingTheNodesDeletion() {
        var ref = KubernetesNode.ownerReference(NODE);
        assertThat(ref.getApiVersion()).isEqualTo("v1");
        assertThat(ref.getKind()).isEqualTo("Node");
        assertThat(ref.getName()).isEqualTo("worker-1");
        assertThat(ref.getUid()).isEqualTo("0b6f6a4e-uid");
        // controller/blockOwnerDeletion would need update rights on nodes/finalizers the agent does not have.
        assertThat(ref.getController()).isNull();
        assertThat(ref.getBlockOwnerDeletion()).isNull();
    }

    @Test
    void readsLabelsOfTheNodeWhenThereIsOne() {
        assertThat(KubernetesNode.label(Optional.of(NODE), "vpn.dstack.io/transport")).isEqualTo("TCP");
        assertThat(KubernetesNode.label(Optional.of(NODE), "absent")).isNull();
        assertThat(KubernetesNode.label(Optional.empty(), "vpn.dstack.io/transport")).isNull();
        Node unlabelled = new NodeBuilder().withNewMetadata().withName("bare").endMetadata().build();
        assertThat(KubernetesNode.label(Optional.of(unlabelled), "vpn.dstack.io/transport")).isNull();
    }
}
