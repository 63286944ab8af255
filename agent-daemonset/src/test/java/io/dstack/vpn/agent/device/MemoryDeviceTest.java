package io.dstack.vpn.agent.device;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.agent.peers.PeerDiff;
import io.dstack.vpn.agent.uapi.DeviceState;
import io.dstack.vpn.api.peerset.DesiredPeer;
import io.dstack.vpn.api.wireguard.WireGuardKey;

class MemoryDeviceTest {
    static final String A = WireGuardKey.generatePrivate().publicKey().toBase64();
    static final String B = WireGuardKey.generatePrivate().publicKey().toBase64();

    static DesiredPeer peer(String key, String ip) {
        return new DesiredPeer("n", key, "192.0.2.1:51820", List.of(ip), 0);
    }

    @Test
    void holdsKeyPortAndPeersLikeADevice() {
        MemoryDevice d = new MemoryDevice();
        assertThat(d.state().hasPrivateKey()).isFalse();
        WireGuardKey own = WireGuardKey.generatePrivate();
        d.configure(own, 51999);
        DeviceState s = d.state();
        assertThat(s.listenPort()).isEqualTo(51999);
        assertThat(s.publicKeyOfPrivate()).isEqualTo(own.publicKey().toBase64());

        List<DesiredPeer> desired = List.of(peer(A, "10.0.0.1/32"), peer(B, "10.0.0.2/32"));
        d.apply(PeerDiff.compute(desired, d.state().peers()));
        assertThat(d.state().peers()).containsOnlyKeys(A, B);
        assertThat(d.state().peers().get(B).allowedIps()).containsExactly("10.0.0.2/32");
        // Applied again: the diff against the device is empty, as on a real device.
        assertThat(PeerDiff.compute(desired, d.state().peers())).isEmpty();

        d.apply(PeerDiff.compute(List.of(peer(A, "10.0.0.1/32"), peer(B, "10.0.0.9/32")), d.state().peers()));
        assertThat(d.state().peers().get(B).allowedIps()).containsExactly("10.0.0.9/32");
        d.apply(List.of());
    }

    @Test
    void recordsWhenEachPeerWasAddedAndRemoved() {
        Instant[] now = {Instant.parse("2026-01-01T00:00:00.000001Z")};
        Clock clock = new Clock() {
            @Override
            public ZoneOffset getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return now[0];
            }
        };
        MemoryDevice d = new MemoryDevice(clock);
        d.apply(PeerDiff.compute(List.of(peer(A, "10.0.0.1/32"), peer(B, "10.0.0.2/32")), Map.of()));
        assertThat(d.addedAt(A)).contains(now[0]);
        assertThat(d.removedAt(A)).isEmpty();

        Instant added = now[0];
        now[0] = now[0].plusMillis(1500);
        d.apply(PeerDiff.compute(List.of(peer(B, "10.0.0.2/32")), d.state().peers()));
        assertThat(d.state().peers()).containsOnlyKeys(B);
        assertThat(d.removedAt(A)).contains(now[0]);
        assertThat(d.removedAt(B)).isEmpty();
        assertThat(d.addedAt(B)).contains(added);

        // Removing a key the device does not hold changes nothing and records nothing.
        Instant removed = now[0];
        now[0] = now[0].plusSeconds(1);
        d.apply(List.of(new PeerDiff.Remove(A)));
        assertThat(d.removedAt(A)).contains(removed);
        assertThat(MemoryDevice.epochMicros(Instant.parse("2026-01-01T00:00:01.000002Z"))).isEqualTo(1_767_225_601_000_002L);
    }
}
