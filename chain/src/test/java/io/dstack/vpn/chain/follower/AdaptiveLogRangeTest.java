package io.dstack.vpn.chain.follower;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.chain.rpc.RpcException;

class AdaptiveLogRangeTest {
    static final RpcException TOO_LARGE = new RpcException("reply exceeds the limit of 16777216 bytes", true, null, null);
    static final RpcException BAD_PARAMS = new RpcException("invalid params", false, -32602, null);

    @Test
    void aShortRangeNearTheHeadIsHalvedFromWhatWasTriedNotFromTheNominalSize() {
        AdaptiveLogRange ranges = new AdaptiveLogRange(5000, 5000);
        long to = ranges.end(0, 56);
        assertThat(to).isEqualTo(56);

        assertThat(ranges.narrowedAfter(TOO_LARGE, 0, to)).isTrue();

        assertThat(ranges.size()).isEqualTo(28); // one failed read, not seven halvings from 5,000
        assertThat(ranges.end(0, 56)).isEqualTo(27);
    }

    @Test
    void aFullRangeHalvesTheSizeAndSuccessDoublesItBackUpToTheMaximum() {
        AdaptiveLogRange ranges = new AdaptiveLogRange(1000, 2000);
        assertThat(ranges.narrowedAfter(TOO_LARGE, 100, ranges.end(100, 1_000_000))).isTrue();
        assertThat(ranges.size()).isEqualTo(500);
        ranges.succeeded();
        ranges.succeeded();
        ranges.succeeded();
        assertThat(ranges.size()).isEqualTo(2000);
    }

    @Test
    void oneBlockOrAnErrorThatIsNoLimitIsNotNarrowed() {
        AdaptiveLogRange ranges = new AdaptiveLogRange(1000, 1000);
        assertThat(ranges.narrowedAfter(BAD_PARAMS, 0, 999)).isFalse();
        assertThat(ranges.size()).isEqualTo(1000);
        assertThat(ranges.narrowedAfter(TOO_LARGE, 7, 7)).isFalse();
        assertThat(ranges.size()).isEqualTo(1000);
    }
}
