package io.dstack.vpn.chain.contract;

import java.math.BigDecimal;
import java.math.BigInteger;

/**
 * The most a {@link ContractWriter} will offer to pay: a cap on the fee per gas (EIP-1559 maxFeePerGas, or the
 * legacy gas price) and a cap on the gas limit. Their product bounds what one transaction can cost, whatever
 * the RPC endpoint reports. {@code null} means no cap (tests on a dev chain).
 */
public record FeeLimits(BigInteger maxFeePerGasWei, BigInteger maxGas) {
    private static final BigDecimal WEI_PER_GWEI = BigDecimal.TEN.pow(9);

    /** No caps at all: for tests against a local chain, never for a real one. */
    public static final FeeLimits UNLIMITED = new FeeLimits(null, null);

    public FeeLimits {
        if (maxFeePerGasWei != null && maxFeePerGasWei.signum() <= 0) {
            throw new IllegalArgumentException("the fee cap must be positive");
        }
        if (maxGas != null && maxGas.signum() <= 0) {
            throw new IllegalArgumentException("the gas cap must be positive");
        }
    }

    public static BigInteger gweiToWei(BigDecimal gwei) {
        return gwei.multiply(WEI_PER_GWEI).toBigInteger();
    }

    /** Wei per gas in gwei, for messages (up to 9 decimals, no trailing zeros). */
    public static String gwei(BigInteger wei) {
        return new BigDecimal(wei).divide(WEI_PER_GWEI).stripTrailingZeros().toPlainString();
    }
}
