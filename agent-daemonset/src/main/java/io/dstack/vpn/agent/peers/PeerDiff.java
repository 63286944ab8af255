package io.dstack.vpn.agent.peers;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import io.dstack.vpn.agent.uapi.PeerState;
import io.dstack.vpn.api.peerset.DesiredPeer;
import io.dstack.vpn.agent.uapi.UapiClient;

/**
 * The minimal set of per-peer changes from what the device has to what it should have. A peer whose
 * configuration is unchanged is not touched (its session and handshake stay), so an agent restart or a
 * re-applied generation costs nothing; a replace-all would drop every session.
 */
public final class PeerDiff {

    public sealed interface Change {
        String publicKey();
    }

    public record Remove(String publicKey) implements Change {
    }

    /** Add a peer, or update an existing one ({@code existing}: only its changed settings are sent). */
    public record Upsert(DesiredPeer peer, boolean existing) implements Change {
        @Override
        public String publicKey() {
            return peer.publicKey();
        }
    }

    public static List<Change> compute(List<DesiredPeer> desired, Map<String, PeerState> actual) {
        List<Change> upserts = new ArrayList<>();
        int present = 0;
        for (DesiredPeer d : desired) {
            PeerState have = actual.get(d.publicKey());
            if (have == null) {
                upserts.add(new Upsert(d, false));
            } else {
                present++;
                if (!sameConfig(d, have)) {
                    upserts.add(new Upsert(d, true));
                }
            }
        }
        List<Change> changes = new ArrayList<>();
        // Every device peer is desired when all of them were found above: skip the second pass (the common case).
        if (present != actual.size()) {
            Set<String> wanted = new HashSet<>(desired.size() * 2);
            for (DesiredPeer d : desired) {
                wanted.add(d.publicKey());
            }
            for (String key : actual.keySet()) {
                if (!wanted.contains(key)) {
                    changes.add(new Remove(key));
                }
            }
        }
        changes.addAll(upserts);
        return changes;
    }

    /**
     * The changes for one peer whose desired configuration went from {@code before} to {@code after} (null: not
     * desired), as {@link #compute} over the whole set would give them, provided no other desired peer has either key.
     */
    public static void computeOne(DesiredPeer before, DesiredPeer after, Map<String, PeerState> actual, List<Change> out) {
        if (before != null && (after == null || !after.publicKey().equals(before.publicKey())) && actual.containsKey(before.publicKey())) {
            out.add(new Remove(before.publicKey()));
        }
        if (after != null) {
            PeerState have = actual.get(after.publicKey());
            if (have == null) {
                out.add(new Upsert(after, false));
            } else if (!sameConfig(after, have)) {
                out.add(new Upsert(after, true));
            }
        }
    }

    /** The device resolves endpoints and reports them as ip:port: compare only when we asked for one. */
    public static boolean sameConfig(DesiredPeer d, PeerState have) {
        boolean endpointOk = d.endpoint() == null || Objects.equals(d.endpoint(), have.endpoint());
        return endpointOk && d.keepalive() == have.persistentKeepalive() && sameIps(d.allowedIps(), have.allowedIps());
    }

    /** Order-insensitive; the common one-address case without allocating (this runs once per peer per apply). */
    private static boolean sameIps(List<String> a, List<String> b) {
        if (a.size() != b.size()) {
            return false;
        }
        if (a.size() == 1) {
            return a.get(0).equals(b.get(0));
        }
        return new HashSet<>(a).equals(new HashSet<>(b));
    }

    /** The UAPI set body for these changes: removals first, so a re-used address is free before it is added. */
    public static String toUapi(List<Change> changes) {
        StringBuilder sb = new StringBuilder();
        changes.stream().filter(c -> c instanceof Remove).forEach(c ->
                sb.append("public_key=").append(UapiClient.hex(c.publicKey())).append("\nremove=true\n"));
        for (Change c : changes) {
            if (c instanceof Upsert u) {
                DesiredPeer p = u.peer();
                sb.append("public_key=").append(UapiClient.hex(p.publicKey())).append('\n');
                if (u.existing()) {
                    sb.append("update_only=true\n");
                }
                if (p.endpoint() != null) {
                    sb.append("endpoint=").append(p.endpoint()).append('\n');
                }
                sb.append("persistent_keepalive_interval=").append(p.keepalive()).append('\n');
                sb.append("replace_allowed_ips=true\n");
                p.allowedIps().forEach(ip -> sb.append("allowed_ip=").append(ip).append('\n'));
            }
        }
        return sb.toString();
    }

    private PeerDiff() {
    }
}
