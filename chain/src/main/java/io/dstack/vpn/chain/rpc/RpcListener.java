package io.dstack.vpn.chain.rpc;

/** Observes every JSON-RPC request, for metrics. {@code calls} is the number of calls in the request (a batch counts each). */
public interface RpcListener {
    void completed(String endpoint, String method, int calls, long nanos);

    void failed(String endpoint, String method, int calls, long nanos, RpcException error);

    RpcListener NONE = new RpcListener() {
        @Override
        public void completed(String endpoint, String method, int calls, long nanos) {
        }

        @Override
        public void failed(String endpoint, String method, int calls, long nanos, RpcException error) {
        }
    };
}
