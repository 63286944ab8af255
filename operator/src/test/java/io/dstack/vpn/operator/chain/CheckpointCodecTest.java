package io.dstack.vpn.operator.chain;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.chain.follower.Checkpoint;
import io.dstack.vpn.chain.registry.TokenHistory;

class CheckpointCodecTest {
    static final String CONTRACT = "0x37d2106badb01dd5be1926e45d172cb4203c4186";

    @Test
    void tenThousandSequentialIdsTakeAFewBytes() {
        TreeSet<BigInteger> ids = new TreeSet<>();
        IntStream.rangeClosed(1, 10_000).forEach(i -> ids.add(BigInteger.valueOf(i)));
        ids.remove(BigInteger.valueOf(5000));
        ids.add(BigInteger.valueOf(20_000));
        assertThat(CheckpointCodec.ranges(ids)).isEqualTo("1-4999,5001-10000,20000");
        assertThat(CheckpointCodec.parseRanges(CheckpointCodec.ranges(ids))).isEqualTo(ids);
    }

    @Test
    void roundTripsWithHistoryAndRejectsAnotherChainOrContract() {
        TreeSet<BigInteger> ids = new TreeSet<>(java.util.List.of(BigInteger.ONE, BigInteger.TWO));
        Checkpoint c = new Checkpoint(42, "0xabc", ids, Map.of(BigInteger.TWO, new TokenHistory(40, "0x1111", 41, 41)));
        String json = CheckpointCodec.encode(c, 8453, CONTRACT);
        Map<String, String> data = Map.of(CheckpointCodec.KEY, json);
        assertThat(CheckpointCodec.decode(data, 8453, CONTRACT)).isEqualTo(c);
        assertThat(CheckpointCodec.decode(data, 1, CONTRACT)).isNull();
        assertThat(CheckpointCodec.decode(data, 8453, "0x0000000000000000000000000000000000000001")).isNull();
        assertThat(CheckpointCodec.decode(Map.of(CheckpointCodec.KEY, "{not json"), 8453, CONTRACT)).isNull();
    }

    /** 10,000 tokens granted within the reorg window, each to its own owner: the case that passed 1 MiB as plain JSON. */
    @Test
    void tenThousandTokensWithHistoryFitOneObjectCompressedAndRoundTrip() {
        TreeSet<BigInteger> ids = new TreeSet<>();
        Map<BigInteger, TokenHistory> history = new java.util.TreeMap<>();
        java.util.Random random = new java.util.Random(17);
        for (int i = 1; i <= 10_000; i++) {
            ids.add(BigInteger.valueOf(i));
            byte[] owner = new byte[20];
            random.nextBytes(owner);
            history.put(BigInteger.valueOf(i), new TokenHistory(1_000_000 + i, "0x" + java.util.HexFormat.of().formatHex(owner), 1_000_000 + i, 0));
        }
        Checkpoint c = new Checkpoint(1_010_000, "0xabc", ids, history);
        assertThat(CheckpointCodec.encode(c, 8453, CONTRACT).length()).as("plain JSON").isGreaterThan(1024 * 1024);
        String stored = CheckpointCodec.encodeCompressed(c, 8453, CONTRACT);
        System.out.printf("checkpoint of 10,000 tokens with history: %,d bytes plain JSON, %,d gzipped and base64%n",
                CheckpointCodec.encode(c, 8453, CONTRACT).length(), stored.length());
        assertThat(stored.length()).as("gzipped, base64").isLessThan(CheckpointCodec.MAX_STORED_BYTES);
        assertThat(CheckpointCodec.decode(null, Map.of(CheckpointCodec.GZ_KEY, stored), 8453, CONTRACT)).isEqualTo(c);
        // A damaged or foreign compressed checkpoint is no checkpoint; the plain form of earlier versions still reads.
        assertThat(CheckpointCodec.decode(null, Map.of(CheckpointCodec.GZ_KEY, "bm90IGd6aXA="), 8453, CONTRACT)).isNull();
        assertThat(CheckpointCodec.decode(null, Map.of(CheckpointCodec.GZ_KEY, stored), 1, CONTRACT)).isNull();
        assertThat(CheckpointCodec.decode(Map.of(CheckpointCodec.KEY, CheckpointCodec.encode(c, 8453, CONTRACT)), null, 8453, CONTRACT)).isEqualTo(c);
    }

    @Test
    void durationsParseLikeKubernetes() {
        assertThat(Durations.parse("200ms", null)).hasMillis(200);
        assertThat(Durations.parse("1h30m", null)).hasMinutes(90);
        assertThat(Durations.parse("5x", java.time.Duration.ZERO)).isZero();
    }
}
