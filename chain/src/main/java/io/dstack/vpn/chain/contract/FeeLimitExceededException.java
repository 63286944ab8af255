package io.dstack.vpn.chain.contract;

/** A transaction would cost more than its {@link FeeLimits} allow; nothing was signed or sent. */
public class FeeLimitExceededException extends RuntimeException {
    public FeeLimitExceededException(String message) {
        super(message);
    }
}
