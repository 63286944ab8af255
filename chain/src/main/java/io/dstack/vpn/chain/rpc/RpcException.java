package io.dstack.vpn.chain.rpc;

/**
 * A failed JSON-RPC call. {@code retryable} says whether another try (here or at another endpoint) may
 * succeed: transport errors, HTTP 429/5xx and the rate-limit codes are; a revert or a bad request is not.
 * Messages name the endpoint by host only: RPC URLs often embed API keys.
 */
public class RpcException extends RuntimeException {
    private final boolean retryable;
    private final Integer code;

    public RpcException(String message, boolean retryable, Integer code, Throwable cause) {
        super(message, cause);
        this.retryable = retryable;
        this.code = code;
    }

    public boolean retryable() {
        return retryable;
    }

    /** JSON-RPC error code, or the HTTP status for transport-level failures; null if neither. */
    public Integer code() {
        return code;
    }
}
