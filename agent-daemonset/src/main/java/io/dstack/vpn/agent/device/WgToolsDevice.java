package io.dstack.vpn.agent.device;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.dstack.vpn.api.peerset.DesiredPeer;
import io.dstack.vpn.agent.peers.PeerDiff;
import io.dstack.vpn.agent.uapi.DeviceState;
import io.dstack.vpn.agent.uapi.PeerState;
import io.dstack.vpn.api.wireguard.WireGuardKey;

/**
 * The kernel module (or any device) through wireguard-tools: {@code wg set} per change, {@code wg show dump}
 * for the state. The private key goes to {@code wg} through a 0600 temp file, never on a command line.
 */
public final class WgToolsDevice implements WireGuardDevice {
    private final String iface;
    private final List<String> prefix;

    /** @param prefix command prefix, e.g. {@code ip netns exec <ns>} in simulations; empty on a node */
    public WgToolsDevice(String iface, List<String> prefix) {
        this.iface = iface;
        this.prefix = prefix;
    }

    @Override
    public void configure(WireGuardKey privateKey, int listenPort) throws IOException {
        Path tmp = Files.createTempFile("wg-key", "", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            Files.writeString(tmp, privateKey.toBase64() + "\n", StandardCharsets.US_ASCII);
            run(List.of("wg", "set", iface, "private-key", tmp.toString(), "listen-port", Integer.toString(listenPort)));
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    @Override
    public DeviceState state() throws IOException {
        String dump = run(List.of("wg", "show", iface, "dump"));
        String[] lines = dump.split("\n");
        // First line: private-key public-key listen-port fwmark. Only the public key and port are kept.
        String[] head = lines[0].split("\t");
        Map<String, PeerState> peers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            String[] f = lines[i].split("\t");
            if (f.length < 8) {
                continue;
            }
            List<String> allowed = f[3].equals("(none)") ? List.of() : List.of(f[3].split(","));
            peers.put(f[0], new PeerState(f[0], f[2].equals("(none)") ? null : f[2], allowed,
                    f[7].equals("off") ? 0 : Integer.parseInt(f[7]), Long.parseLong(f[4]), Long.parseLong(f[5]), Long.parseLong(f[6])));
        }
        return new DeviceState(Integer.parseInt(head[2]), !head[0].equals("(none)"), head[1].equals("(none)") ? null : head[1], peers);
    }

    @Override
    public void apply(List<PeerDiff.Change> changes) throws IOException {
        for (PeerDiff.Change c : changes) {
            List<String> cmd = new ArrayList<>(List.of("wg", "set", iface, "peer", c.publicKey()));
            if (c instanceof PeerDiff.Remove) {
                cmd.add("remove");
            } else if (c instanceof PeerDiff.Upsert u) {
                DesiredPeer p = u.peer();
                if (p.endpoint() != null) {
                    cmd.addAll(List.of("endpoint", p.endpoint()));
                }
                cmd.addAll(List.of("persistent-keepalive", p.keepalive() == 0 ? "off" : Integer.toString(p.keepalive())));
                cmd.addAll(List.of("allowed-ips", String.join(",", p.allowedIps())));
            }
            run(cmd);
        }
    }

    private String run(List<String> cmd) throws IOException {
        List<String> full = new ArrayList<>(prefix);
        full.addAll(cmd);
        Process p = new ProcessBuilder(full).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException(String.join(" ", cmd.subList(0, Math.min(4, cmd.size()))) + " failed: " + out.strip());
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
