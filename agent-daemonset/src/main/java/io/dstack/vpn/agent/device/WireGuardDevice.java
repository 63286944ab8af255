package io.dstack.vpn.agent.device;

import java.io.IOException;
import java.util.List;

import io.dstack.vpn.agent.peers.PeerDiff;
import io.dstack.vpn.agent.uapi.DeviceState;
import io.dstack.vpn.api.wireguard.WireGuardKey;

/** One WireGuard interface, whatever drives it: the userspace UAPI socket or the kernel through wireguard-tools. */
public interface WireGuardDevice {

    /** Sets the private key and listen port; leaves peers alone. */
    void configure(WireGuardKey privateKey, int listenPort) throws IOException;

    DeviceState state() throws IOException;

    /** Applies per-peer changes; no-op for an empty list. */
    void apply(List<PeerDiff.Change> changes) throws IOException;
}
