package io.dstack.vpn.cli;

import java.math.BigDecimal;
import java.math.BigInteger;

import io.dstack.vpn.chain.contract.FeeLimits;
import picocli.CommandLine.Option;

/**
 * The most a write command will pay. Base's fees are a small fraction of a gwei, so the defaults leave wide room
 * for congestion yet bound one transaction to 5 gwei x 1,000,000 gas = 0.005 ETH, whatever the endpoint says.
 */
class FeeOptions {
    @Option(names = "--max-fee-gwei", paramLabel = "GWEI", defaultValue = "5",
            description = "refuse to sign if the fee per gas (base fee + tip) would exceed this (default: ${DEFAULT-VALUE} gwei)")
    BigDecimal maxFeeGwei;

    @Option(names = "--max-gas", paramLabel = "GAS", defaultValue = "1000000",
            description = "refuse to sign if the transaction needs more gas than this (default: ${DEFAULT-VALUE})")
    long maxGas;

    FeeLimits limits() {
        BigInteger maxFee = FeeLimits.gweiToWei(maxFeeGwei);
        if (maxFee.signum() <= 0) {
            throw new CliException(ExitCodes.USAGE, "--max-fee-gwei must be positive (at least 0.000000001, one wei)");
        }
        if (maxGas <= 0) {
            throw new CliException(ExitCodes.USAGE, "--max-gas must be positive");
        }
        return new FeeLimits(maxFee, BigInteger.valueOf(maxGas));
    }
}
