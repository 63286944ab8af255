package io.dstack.vpn.api.peerset;

import java.io.UncheckedIOException;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The peer-set ConfigMap's data keys and their JSON form. {@code peers.json} is what agents apply;
 * {@code allocations.json} is the IPAM record (peer name to address), kept next to it so that one write
 * carries both and an operator restart finds every address where it left it.
 */
public final class PeerSetCodec {
    public static final String PEERS_KEY = "peers.json";
    public static final String ALLOCATIONS_KEY = "allocations.json";

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    public static String configMapName(String network) {
        return network + "-peerset";
    }

    public static String encode(PeerSet set) {
        return write(set);
    }

    public static PeerSet decode(String json) {
        try {
            return JSON.readValue(json, PeerSet.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("peer set is not valid JSON: " + e.getOriginalMessage());
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
