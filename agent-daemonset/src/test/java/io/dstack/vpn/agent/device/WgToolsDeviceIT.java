package io.dstack.vpn.agent.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.api.peerset.DesiredPeer;
import io.dstack.vpn.agent.peers.PeerDiff;
import io.dstack.vpn.agent.uapi.UapiClient;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.testing.SimulatedNetwork;
import io.dstack.vpn.testing.SimulatedNode;

/**
 * The wireguard-tools backend against a real device. No kernel module here, so the device is wireguard-go and
 * `wg` reaches it through its UAPI socket (a private mount of the node's socket directory), exactly as `wg`
 * does on a node; both backends must agree on the device state.
 */
class WgToolsDeviceIT {

    @Test
    void configuresAndChangesPeersThroughWg() throws Exception {
        try (SimulatedNetwork net = new SimulatedNetwork()) {
            SimulatedNode node = net.addNode("wgt");
            node.startWireGuard("wg0");
            String socketDir = node.uapiSocket("wg0").getParent().toString();
            List<String> prefix = List.of("unshare", "--mount", "--propagation", "private", "sh", "-c",
                    "mount --bind \"$0\" /var/run/wireguard && exec \"$@\"", socketDir);
            WgToolsDevice wg = new WgToolsDevice("wg0", prefix);
            WireGuardKey own = WireGuardKey.generatePrivate();
            wg.configure(own, 51999);

            String a = WireGuardKey.generatePrivate().publicKey().toBase64();
            String b = WireGuardKey.generatePrivate().publicKey().toBase64();
            List<DesiredPeer> desired = List.of(
                    new DesiredPeer("a", a, "10.254.9.1:51820", List.of("10.98.0.1/32"), 25),
                    new DesiredPeer("b", b, null, List.of("10.98.0.2/32"), 0));
            wg.apply(PeerDiff.compute(desired, wg.state().peers()));

            var viaWg = wg.state();
            var viaUapi = new UapiClient(node.uapiSocket("wg0")).get();
            assertThat(viaWg.listenPort()).isEqualTo(51999);
            assertThat(viaWg.publicKeyOfPrivate()).isEqualTo(own.publicKey().toBase64());
            assertThat(viaWg.peers().keySet()).containsExactlyInAnyOrder(a, b);
            assertThat(viaUapi.peers().keySet()).isEqualTo(viaWg.peers().keySet());
            assertThat(viaWg.peers().get(a).endpoint()).isEqualTo("10.254.9.1:51820");
            assertThat(viaWg.peers().get(a).persistentKeepalive()).isEqualTo(25);
            assertThat(PeerDiff.compute(desired, viaWg.peers())).as("idempotent").isEmpty();

            wg.apply(PeerDiff.compute(desired.subList(0, 1), wg.state().peers()));
            assertThat(wg.state().peers().keySet()).containsExactly(a);
        }
    }
}
