package io.dstack.vpn.chain.contract;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.web3j.abi.EventEncoder;
import org.web3j.abi.FunctionEncoder;
import org.web3j.abi.FunctionReturnDecoder;
import org.web3j.abi.TypeReference;
import org.web3j.abi.datatypes.Address;
import org.web3j.abi.datatypes.Bool;
import org.web3j.abi.datatypes.Event;
import org.web3j.abi.datatypes.Function;
import org.web3j.abi.datatypes.Type;
import org.web3j.abi.datatypes.Utf8String;
import org.web3j.abi.datatypes.generated.Uint256;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The access NFT's ABI (DESIGN.md §4), hand-bound with web3j's codec: function call data, return
 * decoding and log decoding. Hand-written rather than generated because the follower needs only a few
 * calls and must decode untrusted logs defensively; see docs/adr/0006.
 */
public final class AccessContract {

    public static final Event NODE_ACCESS_GRANTED = new Event("NodeAccessGranted", List.of(
            new TypeReference<Uint256>(true) { }, new TypeReference<Utf8String>() { },
            new TypeReference<Address>(true) { }, new TypeReference<Utf8String>() { }));
    public static final Event NODE_ACCESS_REVOKED = new Event("NodeAccessRevoked", List.of(
            new TypeReference<Uint256>(true) { }, new TypeReference<Utf8String>() { }));
    public static final Event TRANSFER = new Event("Transfer", List.of(
            new TypeReference<Address>(true) { }, new TypeReference<Address>(true) { }, new TypeReference<Uint256>(true) { }));
    public static final Event NODE_KEY_ROTATED = new Event("NodeKeyRotated", List.of(
            new TypeReference<Uint256>(true) { }, new TypeReference<Utf8String>() { }));
    public static final Event PUBLIC_KEY_UPDATED = new Event("PublicKeyUpdated", List.of(
            new TypeReference<Address>(true) { }, new TypeReference<Utf8String>() { }));

    public static final String TOPIC_GRANTED = EventEncoder.encode(NODE_ACCESS_GRANTED);
    public static final String TOPIC_REVOKED = EventEncoder.encode(NODE_ACCESS_REVOKED);
    public static final String TOPIC_TRANSFER = EventEncoder.encode(TRANSFER);
    public static final String TOPIC_KEY_ROTATED = EventEncoder.encode(NODE_KEY_ROTATED);
    public static final String TOPIC_PUBLIC_KEY_UPDATED = EventEncoder.encode(PUBLIC_KEY_UPDATED);

    /** The topics the follower asks eth_getLogs for (one filter, OR-ed). */
    public static final List<String> FOLLOWED_TOPICS = List.of(TOPIC_GRANTED, TOPIC_REVOKED, TOPIC_TRANSFER,
            TOPIC_KEY_ROTATED, TOPIC_PUBLIC_KEY_UPDATED);

    /** State of one token as getNodeAccess returns it, plus its owner. */
    public record TokenState(BigInteger tokenId, String nodeId, String publicKey, BigInteger createdAt, boolean active, String owner) {
    }

    public static String getNodeAccess(BigInteger tokenId) {
        return FunctionEncoder.encode(new Function("getNodeAccess", List.of(new Uint256(tokenId)), List.of()));
    }

    public static String ownerOf(BigInteger tokenId) {
        return FunctionEncoder.encode(new Function("ownerOf", List.of(new Uint256(tokenId)), List.of()));
    }

    public static String getTokenIdByNodeId(String nodeId) {
        return FunctionEncoder.encode(new Function("getTokenIdByNodeId", List.of(new Utf8String(nodeId)), List.of()));
    }

    public static String owner() {
        return FunctionEncoder.encode(new Function("owner", List.of(), List.of()));
    }

    public static String mintNodeAccess(String to, String nodeId, String publicKey, String tokenUri) {
        return FunctionEncoder.encode(new Function("mintNodeAccess",
                List.of(new Address(to), new Utf8String(nodeId), new Utf8String(publicKey), new Utf8String(tokenUri)), List.of()));
    }

    public static String revokeNodeAccess(BigInteger tokenId) {
        return FunctionEncoder.encode(new Function("revokeNodeAccess", List.of(new Uint256(tokenId)), List.of()));
    }

    public static String transferFrom(String from, String to, BigInteger tokenId) {
        return FunctionEncoder.encode(new Function("transferFrom",
                List.of(new Address(from), new Address(to), new Uint256(tokenId)), List.of()));
    }

    public static String updatePublicKey(BigInteger tokenId, String publicKey) {
        return FunctionEncoder.encode(new Function("updatePublicKey", List.of(new Uint256(tokenId), new Utf8String(publicKey)), List.of()));
    }

    /** Decodes getNodeAccess's (string nodeId, string key, uint256 createdAt, bool isActive). */
    @SuppressWarnings("rawtypes")
    public static TokenState decodeNodeAccess(BigInteger tokenId, String returnData, String owner) {
        List<Type> values = FunctionReturnDecoder.decode(returnData, List.of(
                (TypeReference) new TypeReference<Utf8String>() { }, (TypeReference) new TypeReference<Utf8String>() { },
                (TypeReference) new TypeReference<Uint256>() { }, (TypeReference) new TypeReference<Bool>() { }));
        if (values.size() != 4) {
            throw new IllegalArgumentException("getNodeAccess(" + tokenId + ") returned " + values.size() + " values, expected 4");
        }
        return new TokenState(tokenId, (String) values.get(0).getValue(), (String) values.get(1).getValue(),
                (BigInteger) values.get(2).getValue(), (Boolean) values.get(3).getValue(), owner);
    }

    @SuppressWarnings("rawtypes")
    public static String decodeAddress(String returnData) {
        List<Type> values = FunctionReturnDecoder.decode(returnData, List.of((TypeReference) new TypeReference<Address>() { }));
        if (values.isEmpty()) {
            throw new IllegalArgumentException("expected an address, got " + abbreviate(returnData));
        }
        return ((Address) values.get(0)).getValue();
    }

    @SuppressWarnings("rawtypes")
    public static BigInteger decodeUint(String returnData) {
        List<Type> values = FunctionReturnDecoder.decode(returnData, List.of((TypeReference) new TypeReference<Uint256>() { }));
        if (values.isEmpty()) {
            throw new IllegalArgumentException("expected a uint256, got " + abbreviate(returnData));
        }
        return (BigInteger) values.get(0).getValue();
    }

    /**
     * Decodes one eth_getLogs entry; never throws for bad data, returns {@link AccessEvent.Malformed} (positions
     * included: an unparsable blockNumber once escaped here and made the follower retry one range forever).
     * Whether the log belongs to the question asked is {@link LogCheck}'s job.
     */
    public static AccessEvent decodeLog(JsonNode log) {
        AccessEvent.LogPosition at;
        try {
            at = new AccessEvent.LogPosition(Hex.quantity(log.path("blockNumber").asText("0x0")),
                    log.path("blockHash").asText(null), Hex.quantity(log.path("logIndex").asText("0x0")), log.path("transactionHash").asText(null));
        } catch (IllegalArgumentException e) {
            return new AccessEvent.Malformed(new AccessEvent.LogPosition(-1, null, -1, null), null, e.getMessage());
        }
        List<String> topics = new ArrayList<>();
        log.path("topics").forEach(t -> topics.add(t.asText()));
        String data = log.path("data").asText("0x");
        if (topics.isEmpty()) {
            return new AccessEvent.Malformed(at, null, "log without topics");
        }
        String topic0 = topics.get(0);
        BigInteger tokenId = null;
        try {
            if (topic0.equals(TOPIC_GRANTED)) {
                tokenId = uintTopic(topics, 1);
                List<Type> d = decodeData(data, NODE_ACCESS_GRANTED);
                return new AccessEvent.Granted(at, tokenId, (String) d.get(0).getValue(), addressTopic(topics, 2), (String) d.get(1).getValue());
            }
            if (topic0.equals(TOPIC_REVOKED)) {
                tokenId = uintTopic(topics, 1);
                List<Type> d = decodeData(data, NODE_ACCESS_REVOKED);
                return new AccessEvent.Revoked(at, tokenId, (String) d.get(0).getValue());
            }
            if (topic0.equals(TOPIC_TRANSFER)) {
                tokenId = uintTopic(topics, 3);
                return new AccessEvent.Transferred(at, tokenId, addressTopic(topics, 1), addressTopic(topics, 2));
            }
            if (topic0.equals(TOPIC_KEY_ROTATED)) {
                tokenId = uintTopic(topics, 1);
                List<Type> d = decodeData(data, NODE_KEY_ROTATED);
                return new AccessEvent.KeyRotated(at, tokenId, (String) d.get(0).getValue());
            }
            if (topic0.equals(TOPIC_PUBLIC_KEY_UPDATED)) {
                List<Type> d = decodeData(data, PUBLIC_KEY_UPDATED);
                return new AccessEvent.OwnerKeyUpdated(at, addressTopic(topics, 1), (String) d.get(0).getValue());
            }
            return new AccessEvent.Malformed(at, null, "unknown topic " + abbreviate(topic0));
        } catch (RuntimeException e) {
            return new AccessEvent.Malformed(at, tokenId, "undecodable " + eventName(topic0) + " log: " + e.getClass().getSimpleName());
        }
    }

    private static final Map<String, String> NAMES = Map.of(TOPIC_GRANTED, "NodeAccessGranted", TOPIC_REVOKED, "NodeAccessRevoked",
            TOPIC_TRANSFER, "Transfer", TOPIC_KEY_ROTATED, "NodeKeyRotated", TOPIC_PUBLIC_KEY_UPDATED, "PublicKeyUpdated");

    private static String eventName(String topic0) {
        return NAMES.getOrDefault(topic0, abbreviate(topic0));
    }

    @SuppressWarnings("rawtypes")
    private static List<Type> decodeData(String data, Event event) {
        List<Type> values = FunctionReturnDecoder.decode(data, event.getNonIndexedParameters());
        if (values.size() != event.getNonIndexedParameters().size()) {
            throw new IllegalArgumentException("data holds " + values.size() + " values");
        }
        return values;
    }

    private static BigInteger uintTopic(List<String> topics, int i) {
        return new BigInteger(strip(topics.get(i)), 16);
    }

    private static String addressTopic(List<String> topics, int i) {
        String hex = strip(topics.get(i));
        if (hex.length() != 64) {
            throw new IllegalArgumentException("topic is not 32 bytes");
        }
        return "0x" + hex.substring(24);
    }

    /** A hex quantity, leading zeros tolerated; a bad value fails with a short, clean message. */
    public static long hexLong(String hex) {
        try {
            return Long.parseLong(strip(hex), 16);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("malformed hex quantity " + Hex.shown(hex));
        }
    }

    public static String strip(String hex) {
        return hex.startsWith("0x") || hex.startsWith("0X") ? hex.substring(2) : hex;
    }

    static String abbreviate(String s) {
        return s == null ? "null" : io.dstack.vpn.api.text.SafeText.bounded(s, 40);
    }

    private AccessContract() {
    }
}
