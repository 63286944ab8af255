package io.dstack.vpn.agent.device;

import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.dstack.vpn.agent.peers.PeerDiff;
import io.dstack.vpn.agent.uapi.DeviceState;
import io.dstack.vpn.agent.uapi.PeerState;
import io.dstack.vpn.api.peerset.DesiredPeer;
import io.dstack.vpn.api.wireguard.WireGuardKey;

/**
 * A fake WireGuard device held in memory ({@code WG_BACKEND=memory}): no interface, no socket, no commands, no
 * traffic. For scale tests and benchmarks that run many agents on one machine, where real devices would not fit.
 * It remembers, per public key, when the peer was last added and last removed, and logs each as one line
 * that tools can parse:
 *
 * <pre>
 * memory-device: removed peer &lt;base64 key&gt; at epoch-us &lt;microseconds since the epoch&gt;
 * memory-device: added peer &lt;base64 key&gt; at epoch-us &lt;microseconds since the epoch&gt;
 * </pre>
 *
 * The time is taken when the change is made (before the log line is written). Never use this backend on a
 * real node: it configures nothing.
 */
public final class MemoryDevice implements WireGuardDevice {
    private static final Logger LOG = LoggerFactory.getLogger(MemoryDevice.class);
    /** The prefix of the log lines above. */
    public static final String LOG_PREFIX = "memory-device: ";

    private final Clock clock;
    private final Map<String, PeerState> peers = new LinkedHashMap<>();
    private final Map<String, Instant> addedAt = new ConcurrentHashMap<>();
    private final Map<String, Instant> removedAt = new ConcurrentHashMap<>();
    private int listenPort;
    private String publicKey;

    public MemoryDevice() {
        this(Clock.systemUTC());
    }

    public MemoryDevice(Clock clock) {
        this.clock = clock;
    }

    @Override
    public synchronized void configure(WireGuardKey privateKey, int listenPort) {
        this.publicKey = privateKey.publicKey().toBase64(); // the private key itself is not kept
        this.listenPort = listenPort;
    }

    @Override
    public synchronized DeviceState state() {
        return new DeviceState(listenPort, publicKey != null, publicKey, new LinkedHashMap<>(peers));
    }

    @Override
    public void apply(List<PeerDiff.Change> changes) {
        if (changes.isEmpty()) {
            return;
        }
        StringBuilder lines = new StringBuilder();
        synchronized (this) {
            Instant now = clock.instant();
            // Removals first, as the UAPI backend sends them.
            for (PeerDiff.Change c : changes) {
                if (c instanceof PeerDiff.Remove && peers.remove(c.publicKey()) != null) {
                    removedAt.put(c.publicKey(), now);
                    line(lines, "removed", c.publicKey(), now);
                }
            }
            for (PeerDiff.Change c : changes) {
                if (c instanceof PeerDiff.Upsert u) {
                    DesiredPeer p = u.peer();
                    PeerState before = peers.get(p.publicKey());
                    if (before != null && u.existing()) {
                        peers.put(p.publicKey(), new PeerState(p.publicKey(), p.endpoint() != null ? p.endpoint() : before.endpoint(),
                                List.copyOf(p.allowedIps()), p.keepalive(), before.lastHandshakeEpochSeconds(), before.rxBytes(), before.txBytes()));
                    } else {
                        peers.put(p.publicKey(), new PeerState(p.publicKey(), p.endpoint(), List.copyOf(p.allowedIps()), p.keepalive(), 0, 0, 0));
                        if (before == null) {
                            addedAt.put(p.publicKey(), now);
                            line(lines, "added", p.publicKey(), now);
                        }
                    }
                }
            }
        }
        if (!lines.isEmpty()) {
            LOG.info("{}", lines.substring(0, lines.length() - 1));
        }
    }

    private static void line(StringBuilder lines, String what, String key, Instant at) {
        lines.append(LOG_PREFIX).append(what).append(" peer ").append(key).append(" at epoch-us ").append(epochMicros(at)).append('\n');
    }

    /** When the peer with this key was last removed; empty if never. */
    public Optional<Instant> removedAt(String publicKey) {
        return Optional.ofNullable(removedAt.get(publicKey));
    }

    /** When the peer with this key was last added (not updated); empty if never. */
    public Optional<Instant> addedAt(String publicKey) {
        return Optional.ofNullable(addedAt.get(publicKey));
    }

    public static long epochMicros(Instant t) {
        return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1_000);
    }
}
