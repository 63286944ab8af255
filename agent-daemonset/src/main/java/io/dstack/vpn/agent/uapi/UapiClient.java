package io.dstack.vpn.agent.uapi;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.dstack.vpn.api.wireguard.WireGuardKey;

/**
 * WireGuard's cross-platform configuration protocol over the device's unix socket
 * ({@code /var/run/wireguard/<if>.sock}): {@code get=1} and {@code set=1}, lines of key=value, keys in
 * lowercase hex, a reply ending in {@code errno=N} and an empty line. One connection per request. The
 * device's private key appears on the wire in replies to {@code get}: it is turned into a public key at once
 * and never kept, printed or put into an exception.
 */
public final class UapiClient {
    private static final HexFormat HEX = HexFormat.of();
    private final Path socket;

    public UapiClient(Path socket) {
        this.socket = socket;
    }

    public Path socket() {
        return socket;
    }

    public DeviceState get() throws IOException {
        String reply = exchange("get=1\n\n");
        int listenPort = 0;
        String devicePublic = null;
        Map<String, PeerState> peers = new LinkedHashMap<>();
        Builder current = null;
        for (String line : reply.split("\n")) {
            int eq = line.indexOf('=');
            if (eq < 0) {
                continue;
            }
            String k = line.substring(0, eq);
            String v = line.substring(eq + 1);
            switch (k) {
                case "private_key" -> devicePublic = WireGuardKey.fromBytes(HEX.parseHex(v)).publicKey().toBase64();
                case "listen_port" -> listenPort = Integer.parseInt(v);
                case "public_key" -> {
                    if (current != null) {
                        peers.put(current.publicKey, current.build());
                    }
                    current = new Builder(WireGuardKey.fromBytes(HEX.parseHex(v)).toBase64());
                }
                case "endpoint" -> current.endpoint = v;
                case "allowed_ip" -> current.allowedIps.add(v);
                case "persistent_keepalive_interval" -> current.keepalive = Integer.parseInt(v);
                case "last_handshake_time_sec" -> current.handshake = Long.parseLong(v);
                case "rx_bytes" -> current.rx = Long.parseLong(v);
                case "tx_bytes" -> current.tx = Long.parseLong(v);
                default -> {
                    // protocol_version, preshared_key, fwmark, last_handshake_time_nsec: not needed
                }
            }
        }
        if (current != null) {
            peers.put(current.publicKey, current.build());
        }
        return new DeviceState(listenPort, devicePublic != null, devicePublic, peers);
    }

    /** Sends a {@code set=1} body (lines without the leading set=1 and the final blank line). */
    public void set(String body) throws IOException {
        exchange("set=1\n" + body + "\n");
    }

    private String exchange(String request) throws IOException {
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ByteBuffer out = ByteBuffer.wrap(request.getBytes(StandardCharsets.US_ASCII));
            while (out.hasRemaining()) {
                ch.write(out);
            }
            StringBuilder reply = new StringBuilder();
            ByteBuffer in = ByteBuffer.allocate(64 * 1024);
            while (!reply.toString().endsWith("\n\n")) {
                in.clear();
                if (ch.read(in) < 0) {
                    break;
                }
                in.flip();
                reply.append(StandardCharsets.US_ASCII.decode(in));
            }
            String text = reply.toString();
            int errno = text.lastIndexOf("errno=");
            if (errno < 0) {
                throw new IOException("UAPI " + socket + ": reply without errno");
            }
            String code = text.substring(errno + 6).strip();
            if (!code.equals("0")) {
                throw new IOException("UAPI " + socket + ": errno=" + code + " for " + request.lines().findFirst().orElse(""));
            }
            return text;
        }
    }

    /** Hex form of a base64 key, as the protocol wants it. */
    public static String hex(String base64Key) {
        return WireGuardKey.parse(base64Key).toHex();
    }

    private static final class Builder {
        final String publicKey;
        String endpoint;
        final List<String> allowedIps = new ArrayList<>();
        int keepalive;
        long handshake;
        long rx;
        long tx;

        Builder(String publicKey) {
            this.publicKey = publicKey;
        }

        PeerState build() {
            return new PeerState(publicKey, endpoint, List.copyOf(allowedIps), keepalive, handshake, rx, tx);
        }
    }
}
