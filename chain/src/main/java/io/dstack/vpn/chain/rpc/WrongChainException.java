package io.dstack.vpn.chain.rpc;

/**
 * The endpoint serves another chain than the one required. Retryable, so that a client with several endpoints
 * moves on to the next; thrown as such by {@link RpcClient} only when every attempt met a wrong chain.
 */
public final class WrongChainException extends RpcException {
    public WrongChainException(String message) {
        super(message, true, null, null);
    }
}
