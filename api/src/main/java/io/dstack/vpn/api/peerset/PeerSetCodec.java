package io.dstack.vpn.api.peerset;

import java.io.UncheckedIOException;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The peer-set ConfigMaps' data keys and their JSON form (ADR 0002). The index {@code <network>-peerset} holds
 * {@code index.json}; each shard holds its peers under {@code peers.json} and the IPAM record (peer name to
 * address) of its peers under {@code allocations.json}, so that one write carries both and an operator restart
 * finds every address where it left it. Before sharding, {@code <network>-peerset} held the whole {@link PeerSet}
 * under {@code peers.json} and the whole IPAM record: readers still accept that layout.
 */
public final class PeerSetCodec {
    public static final String PEERS_KEY = "peers.json";
    public static final String ALLOCATIONS_KEY = "allocations.json";
    public static final String INDEX_KEY = "index.json";

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    public static String configMapName(String network) {
        return network + "-peerset";
    }

    public static String encode(PeerSet set) {
        return write(set);
    }

    public static PeerSet decode(String json) {
        return read(json, PeerSet.class, "peer set");
    }

    public static String encodeIndex(PeerSetIndex index) {
        return write(index);
    }

    public static PeerSetIndex decodeIndex(String json) {
        return read(json, PeerSetIndex.class, "peer-set index");
    }

    public static String encodeShard(PeerSetShard shard) {
        return write(shard);
    }

    public static PeerSetShard decodeShard(String json) {
        PeerSetShard shard = read(json, PeerSetShard.class, "peer-set shard");
        if (shard.peers() == null) {
            throw new IllegalArgumentException("peer-set shard has no peers list");
        }
        return shard;
    }

    private static <T> T read(String json, Class<T> type, String what) {
        try {
            return JSON.readValue(json, type);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(what + " is not valid JSON: " + e.getOriginalMessage());
        }
    }

    public static String encodeAllocations(Map<String, String> allocations) {
        return write(new TreeMap<>(allocations));
    }

    public static Map<String, String> decodeAllocations(String json) {
        try {
            return JSON.readValue(json, new TypeReference<TreeMap<String, String>>() {
            });
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("address allocations are not valid JSON: " + e.getOriginalMessage());
        }
    }

    private static String write(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    private PeerSetCodec() {
    }
}
