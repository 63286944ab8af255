package io.dstack.vpn.operator;

import java.util.List;

import io.dstack.vpn.api.v1alpha1.AccessSource;
import io.dstack.vpn.api.v1alpha1.DevAllowList;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnNetworkSpec;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerSpec;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;

/** Objects for unit tests. */
public final class Fixtures {
    public static final String KEY_A = WireGuardKey.generatePrivate().publicKey().toBase64();
    public static final String KEY_B = WireGuardKey.generatePrivate().publicKey().toBase64();


    public static VpnNetwork devNetwork(DevAllowList.AllowedNode... nodes) {
        VpnNetwork n = new VpnNetwork();
        n.setMetadata(new ObjectMetaBuilder().withName("net").withNamespace("ns").build());
        n.setSpec(new VpnNetworkSpec());
        n.getSpec().cidr = "10.0.0.0/24";
        n.getSpec().access = new AccessSource();
        n.getSpec().access.devAllowList = new DevAllowList();
        n.getSpec().access.devAllowList.nodes = List.of(nodes);
        return n;
    }

    public static VpnPeer peer(String name, String nodeId, String key, String created) {
        VpnPeer p = new VpnPeer();
        p.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("ns").withCreationTimestamp(created).build());
        p.setSpec(new VpnPeerSpec());
        p.getSpec().network = "net";
        p.getSpec().nodeId = nodeId;
        p.getSpec().publicKey = key;
        return p;
    }

    private Fixtures() {
    }
}
