package io.dstack.vpn.agent.device;

import java.io.IOException;
import java.util.List;

import io.dstack.vpn.agent.peers.PeerDiff;
import io.dstack.vpn.agent.uapi.DeviceState;
import io.dstack.vpn.agent.uapi.UapiClient;
import io.dstack.vpn.api.wireguard.WireGuardKey;

/** wireguard-go (or any UAPI device): every change set is one {@code set=1} request on the socket. */
public final class UapiDevice implements WireGuardDevice {
    private final UapiClient uapi;

    public UapiDevice(UapiClient uapi) {
        this.uapi = uapi;
    }

    @Override
    public void configure(WireGuardKey privateKey, int listenPort) throws IOException {
        uapi.set("private_key=" + privateKey.toHex() + "\nlisten_port=" + listenPort + "\n");
    }

    @Override
    public DeviceState state() throws IOException {
        return uapi.get();
    }

    @Override
    public void apply(List<PeerDiff.Change> changes) throws IOException {
        if (!changes.isEmpty()) {
            uapi.set(PeerDiff.toUapi(changes));
        }
    }
}
