package io.dstack.vpn.agent;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.dstack.vpn.api.peerset.DesiredPeer;
import io.dstack.vpn.agent.peers.PeerDiff;
import io.dstack.vpn.agent.uapi.DeviceState;
import io.dstack.vpn.agent.uapi.PeerState;

/** The agent's record of the device's configuration: read once from the device, then kept up to date by each apply. */
final class DeviceModel {
    private final Map<String, PeerState> peers = new HashMap<>();
    private int listenPort;

    DeviceModel(DeviceState state) {
        peers.putAll(state.peers());
        listenPort = state.listenPort();
    }

    Map<String, PeerState> peers() {
        return peers;
    }

    int listenPort() {
        return listenPort;
    }

    void listenPort(int port) {
        listenPort = port;
    }

    void applied(List<PeerDiff.Change> changes) {
        for (PeerDiff.Change c : changes) {
            if (c instanceof PeerDiff.Remove) {
                peers.remove(c.publicKey());
            } else if (c instanceof PeerDiff.Upsert u) {
                DesiredPeer p = u.peer();
                peers.put(p.publicKey(), new PeerState(p.publicKey(), p.endpoint(), p.allowedIps(), p.keepalive(), 0, 0, 0));
            }
        }
    }

    /** Same peers with the same configuration (handshakes and counters aside). */
    boolean matches(DeviceState state) {
        if (!state.peers().keySet().equals(peers.keySet())) {
            return false;
        }
        for (PeerState have : state.peers().values()) {
            PeerState want = peers.get(have.publicKey());
            DesiredPeer asDesired = new DesiredPeer("", want.publicKey(), want.endpoint(), want.allowedIps(), want.persistentKeepalive());
            if (!PeerDiff.sameConfig(asDesired, have)) {
                return false;
            }
        }
        return true;
    }
}
