package io.dstack.vpn.chain.contract;

import java.math.BigInteger;
import java.util.function.Supplier;

/**
 * What a transaction offers per unit of gas: EIP-1559 fees (type 2) when the chain's latest block has a base fee,
 * a legacy gas price only when it has none. Choosing them enforces the fee cap, so a transaction that would
 * exceed it is never signed.
 */
public sealed interface GasFees {

    /** Type 2: the tip to the block builder and the most paid per gas, base fee included. */
    record Eip1559(BigInteger maxPriorityFeePerGas, BigInteger maxFeePerGas) implements GasFees {
    }

    /** Type 0, for chains without EIP-1559. */
    record Legacy(BigInteger gasPrice) implements GasFees {
    }

    /**
     * @param baseFee  the latest block's baseFeePerGas, {@code null} when the block has none (pre-London)
     * @param tip      the node's suggested priority fee (eth_maxPriorityFeePerGas), asked only for EIP-1559
     * @param gasPrice the node's legacy gas price (eth_gasPrice), asked only without a base fee
     * @throws FeeLimitExceededException when inclusion at the current fees would cost more than the cap
     */
    static GasFees choose(BigInteger baseFee, Supplier<BigInteger> tip, Supplier<BigInteger> gasPrice, FeeLimits limits) {
        BigInteger cap = limits.maxFeePerGasWei();
        if (baseFee == null) {
            BigInteger price = gasPrice.get();
            if (cap != null && price.compareTo(cap) > 0) {
                throw new FeeLimitExceededException("the gas price is " + FeeLimits.gwei(price) + " gwei, above the fee cap of "
                        + FeeLimits.gwei(cap) + " gwei");
            }
            return new Legacy(price);
        }
        BigInteger priority = tip.get();
        BigInteger needed = baseFee.add(priority);
        if (cap != null && needed.compareTo(cap) > 0) {
            throw new FeeLimitExceededException("the base fee (" + FeeLimits.gwei(baseFee) + " gwei) plus the tip (" + FeeLimits.gwei(priority)
                    + " gwei) is " + FeeLimits.gwei(needed) + " gwei per gas, above the fee cap of " + FeeLimits.gwei(cap) + " gwei");
        }
        // Twice the base fee leaves room for six full blocks of base-fee rises before the transaction is priced out;
        // the cap trims that headroom but never below what inclusion needs now (checked above).
        BigInteger maxFee = baseFee.shiftLeft(1).add(priority);
        if (cap != null && maxFee.compareTo(cap) > 0) {
            maxFee = cap;
        }
        return new Eip1559(priority, maxFee);
    }

    /**
     * The gas limit to sign: the estimate plus a fifth (state can change between estimate and inclusion), trimmed to
     * the gas cap; refused when the estimate alone is over the cap.
     */
    static BigInteger gasLimit(BigInteger estimate, FeeLimits limits) {
        BigInteger cap = limits.maxGas();
        if (cap != null && estimate.compareTo(cap) > 0) {
            throw new FeeLimitExceededException("the transaction needs an estimated " + estimate + " gas, above the gas cap of " + cap);
        }
        BigInteger padded = estimate.add(estimate.divide(BigInteger.valueOf(5)));
        return cap != null && padded.compareTo(cap) > 0 ? cap : padded;
    }
}
