package io.dstack.vpn.agent.nodeapi;

import java.util.LinkedHashMap;
import java.util.Map;

import io.dstack.vpn.api.wireguard.WireGuardKey;

/**
 * The node API's key pair(s) and the MAC keys {@code K} derived with them, cached per (network, node id, node key,
 * server key): one X25519 per node and key, not one per request. The cache is bounded (least recently used goes);
 * only nodes the peer set lists, with the key it lists, ever get an entry.
 */
final class DerivedKeys {
    private final String namespace;
    private final WireGuardKey currentPrivate;
    private final WireGuardKey currentPublic;
    private final WireGuardKey previousPrivate;
    private final WireGuardKey previousPublic;
    private final int capacity;
    private final Map<CacheKey, byte[]> cache;

    private record CacheKey(String network, String nodeId, WireGuardKey node, WireGuardKey server) {
    }

    /** @param previous the key being rotated out (its bundles still pin it); null when there is none */
    DerivedKeys(String namespace, WireGuardKey current, WireGuardKey previous, int capacity) {
        this.namespace = namespace;
        this.currentPrivate = current;
        this.currentPublic = current.publicKey();
        this.previousPrivate = previous;
        this.previousPublic = previous == null ? null : previous.publicKey();
        this.capacity = capacity;
        this.cache = new LinkedHashMap<>(256, 0.75f, true);
    }

    WireGuardKey currentPublic() {
        return currentPublic;
    }

    /** The server keys to try, current first. */
    int serverKeys() {
        return previousPrivate == null ? 1 : 2;
    }

    /**
     * {@code K} for the node with server key {@code which} (0 current, 1 previous).
     *
     * @throws IllegalArgumentException when the node key has low order
     */
    byte[] key(int which, String network, String nodeId, WireGuardKey nodePublic) {
        WireGuardKey serverPrivate = which == 0 ? currentPrivate : previousPrivate;
        WireGuardKey serverPublic = which == 0 ? currentPublic : previousPublic;
        CacheKey key = new CacheKey(network, nodeId, nodePublic, serverPublic);
        synchronized (cache) {
            byte[] k = cache.get(key);
            if (k != null) {
                return k;
            }
        }
        byte[] k = NodeAuth.deriveKey(serverPrivate, nodePublic, namespace, network, nodeId, nodePublic, serverPublic);
        synchronized (cache) {
            cache.put(key, k);
            if (cache.size() > capacity) {
                cache.remove(cache.keySet().iterator().next());
            }
        }
        return k;
    }

    /** How many keys are cached (tests). */
    int cached() {
        synchronized (cache) {
            return cache.size();
        }
    }
}
