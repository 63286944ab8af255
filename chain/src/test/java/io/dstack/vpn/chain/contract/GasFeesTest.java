package io.dstack.vpn.chain.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;

/** The fee rules: EIP-1559 whenever there is a base fee, the cap enforced before signing, legacy only as a fallback. */
class GasFeesTest {
    static final BigInteger GWEI = BigInteger.TEN.pow(9);
    static final FeeLimits FIVE_GWEI = new FeeLimits(GWEI.multiply(BigInteger.valueOf(5)), BigInteger.valueOf(1_000_000));

    static Supplier<BigInteger> never(String what) {
        return () -> {
            throw new AssertionError(what + " should not be asked");
        };
    }

    static BigInteger gwei(String g) {
        return FeeLimits.gweiToWei(new BigDecimal(g));
    }

    @Test
    void aBaseFeeMeansEip1559WithTwiceTheBaseFeePlusTheTip() {
        GasFees f = GasFees.choose(gwei("0.01"), () -> gwei("0.001"), never("eth_gasPrice"), FIVE_GWEI);
        assertThat(f).isEqualTo(new GasFees.Eip1559(gwei("0.001"), gwei("0.021")));
    }

    @Test
    void noBaseFeeFallsBackToTheLegacyGasPrice() {
        assertThat(GasFees.choose(null, never("eth_maxPriorityFeePerGas"), () -> gwei("2"), FIVE_GWEI)).isEqualTo(new GasFees.Legacy(gwei("2")));
    }

    @Test
    void theCapTrimsTheHeadroomButNotWhatInclusionNeedsNow() {
        GasFees f = GasFees.choose(gwei("3"), () -> gwei("1"), never("eth_gasPrice"), FIVE_GWEI);
        assertThat(f).isEqualTo(new GasFees.Eip1559(gwei("1"), gwei("5")));
    }

    @Test
    void feesAboveTheCapAreRefused() {
        // A hostile or congested endpoint: 400 gwei base fee, or an absurd tip, or a legacy gas price of 1000 gwei.
        assertThatThrownBy(() -> GasFees.choose(gwei("400"), () -> gwei("1"), never("eth_gasPrice"), FIVE_GWEI))
                .isInstanceOf(FeeLimitExceededException.class).hasMessageContaining("401 gwei per gas, above the fee cap of 5 gwei");
        assertThatThrownBy(() -> GasFees.choose(gwei("0.01"), () -> gwei("100"), never("eth_gasPrice"), FIVE_GWEI))
                .isInstanceOf(FeeLimitExceededException.class);
        assertThatThrownBy(() -> GasFees.choose(null, never("eth_maxPriorityFeePerGas"), () -> gwei("1000"), FIVE_GWEI))
                .isInstanceOf(FeeLimitExceededException.class).hasMessageContaining("1000 gwei, above the fee cap of 5 gwei");
    }

    @Test
    void unlimitedTakesWhatTheNodeSays() {
        assertThat(GasFees.choose(gwei("400"), () -> gwei("1"), never("eth_gasPrice"), FeeLimits.UNLIMITED))
                .isEqualTo(new GasFees.Eip1559(gwei("1"), gwei("801")));
    }

    @Test
    void theGasLimitIsPaddedTrimmedToTheCapAndRefusedAboveIt() {
        assertThat(GasFees.gasLimit(BigInteger.valueOf(100_000), FIVE_GWEI)).isEqualTo(BigInteger.valueOf(120_000));
        assertThat(GasFees.gasLimit(BigInteger.valueOf(900_000), FIVE_GWEI)).isEqualTo(BigInteger.valueOf(1_000_000));
        assertThatThrownBy(() -> GasFees.gasLimit(BigInteger.valueOf(1_000_001), FIVE_GWEI))
                .isInstanceOf(FeeLimitExceededException.class).hasMessageContaining("above the gas cap of 1000000");
    }
}
