package io.dstack.vpn.chain.rpc;

import com.fasterxml.jackson.databind.JsonNode;

/** One call's outcome inside a batch: a value, or the error of that call alone. */
public record RpcResult(JsonNode value, RpcException error) {
}
