package io.dstack.vpn.agent.uapi;

import java.util.Map;

/** The device as {@code get=1} reports it: listen port, whether a private key is set, peers by public key. */
public record DeviceState(int listenPort, boolean hasPrivateKey, String publicKeyOfPrivate, Map<String, PeerState> peers) {
}
