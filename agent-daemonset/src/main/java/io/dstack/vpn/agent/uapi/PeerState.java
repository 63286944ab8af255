package io.dstack.vpn.agent.uapi;

import java.util.List;

/**
 * One peer as the device reports it ({@code get=1}). Keys are base64 here (the UAPI wire form is hex).
 *
 * @param lastHandshakeEpochSeconds 0 if never
 */
public record PeerState(String publicKey, String endpoint, List<String> allowedIps, int persistentKeepalive,
        long lastHandshakeEpochSeconds, long rxBytes, long txBytes) {
}
