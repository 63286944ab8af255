package io.dstack.vpn.operator.chain;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.dstack.vpn.chain.follower.Checkpoint;
import io.dstack.vpn.chain.registry.TokenHistory;

/**
 * The follower checkpoint as stored in the {@code <network>-chain} ConfigMap: block, hash, the contract and
 * chain it belongs to, and the known token ids as ranges ("1-9999,10005"), which keeps 10,000 sequential
 * ids in a few bytes. Stored gzipped under {@code binaryData}: the history of 10,000 recently granted tokens is
 * ~1.2 MB of JSON, past the 1 MiB object limit, and compresses to a fraction (it repeats its field names and owners).
 * The plain {@code data} form of earlier versions is still read.
 */
final class CheckpointCodec {
    /** The plain JSON form written before compression; read only. */
    static final String KEY = "checkpoint.json";
    static final String GZ_KEY = "checkpoint.json.gz";
    /** Below the 1 MiB object limit with room for metadata, as for the peer-set objects (ADR 0002). */
    static final int MAX_STORED_BYTES = 900 * 1024;
    private static final ObjectMapper JSON = new ObjectMapper();

    record Stored(long block, String hash, long chainId, String contract, String tokenIds, Map<String, TokenHistory> history) {
    }

    static String encode(Checkpoint c, long chainId, String contract) {
        try {
            Map<String, TokenHistory> history = new TreeMap<>();
            c.history().forEach((id, h) -> history.put(id.toString(), h));
            return JSON.writeValueAsString(new Stored(c.block(), c.hash(), chainId, contract, ranges(c.tokenIds()), history));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The checkpoint gzipped and base64-encoded, as {@code binaryData} holds it. */
    static String encodeCompressed(Checkpoint c, long chainId, String contract) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(encode(c, chainId, contract).getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Base64.getEncoder().encodeToString(out.toByteArray());
    }

    /**
     * The checkpoint from a ConfigMap's {@code binaryData} (gzipped) or, from earlier versions, its {@code data}; null
     * if there is none, it is unreadable, or it belongs to another chain or contract.
     */
    static Checkpoint decode(Map<String, String> data, Map<String, String> binaryData, long chainId, String contract) {
        if (binaryData != null && binaryData.get(GZ_KEY) != null) {
            try (GZIPInputStream gz = new GZIPInputStream(new ByteArrayInputStream(Base64.getDecoder().decode(binaryData.get(GZ_KEY))))) {
                return decode(Map.of(KEY, new String(gz.readAllBytes(), StandardCharsets.UTF_8)), chainId, contract);
            } catch (IOException | IllegalArgumentException e) {
                return null;
            }
        }
        return decode(data, chainId, contract);
    }

    /** The checkpoint, or null if it is unreadable or belongs to another chain or contract. */
    static Checkpoint decode(Map<String, String> data, long chainId, String contract) {
        if (data == null || data.get(KEY) == null) {
            return null;
        }
        try {
            Stored s = JSON.readValue(data.get(KEY), Stored.class);
            if (s.chainId() != chainId || !contract.equalsIgnoreCase(s.contract()) || s.hash() == null) {
                return null;
            }
            Map<BigInteger, TokenHistory> history = new TreeMap<>();
            if (s.history() != null) {
                s.history().forEach((id, h) -> history.put(new BigInteger(id), h));
            }
            return new Checkpoint(s.block(), s.hash(), parseRanges(s.tokenIds()), history);
        } catch (JsonProcessingException | RuntimeException e) {
            return null;
        }
    }

    static String ranges(SortedSet<BigInteger> ids) {
        List<String> parts = new ArrayList<>();
        BigInteger start = null;
        BigInteger prev = null;
        for (BigInteger id : ids) {
            if (start == null) {
                start = id;
            } else if (!id.equals(prev.add(BigInteger.ONE))) {
                parts.add(start.equals(prev) ? start.toString() : start + "-" + prev);
                start = id;
            }
            prev = id;
        }
        if (start != null) {
            parts.add(start.equals(prev) ? start.toString() : start + "-" + prev);
        }
        return String.join(",", parts);
    }

    static SortedSet<BigInteger> parseRanges(String text) {
        SortedSet<BigInteger> ids = new TreeSet<>();
        if (text == null || text.isBlank()) {
            return ids;
        }
        for (String part : text.split(",")) {
            int dash = part.indexOf('-');
            if (dash < 0) {
                ids.add(new BigInteger(part.strip()));
            } else {
                BigInteger from = new BigInteger(part.substring(0, dash).strip());
                BigInteger to = new BigInteger(part.substring(dash + 1).strip());
                for (BigInteger i = from; i.compareTo(to) <= 0; i = i.add(BigInteger.ONE)) {
                    ids.add(i);
                }
            }
        }
        return ids;
    }

    private CheckpointCodec() {
    }
}
