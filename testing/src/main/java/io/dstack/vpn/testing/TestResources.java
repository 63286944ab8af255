package io.dstack.vpn.testing;

import java.util.List;

import io.dstack.vpn.api.v1alpha1.AccessSource;
import io.dstack.vpn.api.v1alpha1.ChainAccess;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnNetworkSpec;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerSpec;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;

/** The VpnNetwork and VpnPeer objects the tests create, built in one place. */
public final class TestResources {

    /** A network whose access source is the contract on anvil (chain id 8453). */
    public static VpnNetwork chainNetwork(String name, String cidr, String rpcUrl, String contract, int grantConfirmations,
            String pollInterval) {
        VpnNetwork n = new VpnNetwork();
        n.setMetadata(new ObjectMetaBuilder().withName(name).build());
        n.setSpec(new VpnNetworkSpec());
        n.getSpec().cidr = cidr;
        n.getSpec().access = new AccessSource();
        n.getSpec().access.chain = new ChainAccess();
        n.getSpec().access.chain.chainId = Anvil.BASE_CHAIN_ID;
        n.getSpec().access.chain.rpcUrls = List.of(rpcUrl);
        n.getSpec().access.chain.contractAddress = contract;
        n.getSpec().access.chain.grantConfirmations = grantConfirmations;
        n.getSpec().access.chain.pollInterval = pollInterval;
        return n;
    }

    public static VpnPeer peer(String name, String network, String nodeId, String publicKey) {
        VpnPeer p = new VpnPeer();
        p.setMetadata(new ObjectMetaBuilder().withName(name).build());
        p.setSpec(new VpnPeerSpec());
        p.getSpec().network = network;
        p.getSpec().nodeId = nodeId;
        p.getSpec().publicKey = publicKey;
        return p;
    }

    private TestResources() {
    }
}
