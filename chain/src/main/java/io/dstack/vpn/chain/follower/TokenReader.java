package io.dstack.vpn.chain.follower;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import io.dstack.vpn.chain.contract.AccessContract;
import io.dstack.vpn.chain.contract.AccessContract.TokenState;
import io.dstack.vpn.chain.rpc.RpcCall;
import io.dstack.vpn.chain.rpc.RpcClient;
import io.dstack.vpn.chain.rpc.RpcResult;

/** Reads tokens' state at one pinned block, two eth_calls per token, batched. */
final class TokenReader {
    private final RpcClient rpc;
    private final String contract;
    private final int batchSize;

    TokenReader(RpcClient rpc, String contract, int batchSize) {
        this.rpc = rpc;
        this.contract = contract;
        this.batchSize = Math.max(2, batchSize - batchSize % 2);
    }

    TokenSnapshot readAt(Collection<BigInteger> ids, long block) {
        String tag = "0x" + Long.toHexString(block);
        List<BigInteger> all = new ArrayList<>(ids);
        List<TokenState> states = new ArrayList<>();
        List<BigInteger> missing = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        int perBatch = batchSize / 2;
        for (int from = 0; from < all.size(); from += perBatch) {
            List<BigInteger> chunk = all.subList(from, Math.min(all.size(), from + perBatch));
            List<RpcCall> calls = new ArrayList<>(chunk.size() * 2);
            for (BigInteger id : chunk) {
                calls.add(RpcCall.of("eth_call", Map.of("to", contract, "data", AccessContract.getNodeAccess(id)), tag));
                calls.add(RpcCall.of("eth_call", Map.of("to", contract, "data", AccessContract.ownerOf(id)), tag));
            }
            List<RpcResult> results = rpc.batchResults(calls);
            for (int i = 0; i < chunk.size(); i++) {
                BigInteger id = chunk.get(i);
                RpcResult access = results.get(2 * i);
                RpcResult owner = results.get(2 * i + 1);
                if (owner.error() != null || access.error() != null) {
                    missing.add(id); // ownerOf reverts for a token that does not exist at this block
                    continue;
                }
                try {
                    String ownerAddress = AccessContract.decodeAddress(owner.value().asText());
                    TokenState s = AccessContract.decodeNodeAccess(id, access.value().asText(), ownerAddress);
                    if (s.nodeId().isEmpty() && s.createdAt().signum() == 0) {
                        missing.add(id);
                    } else {
                        states.add(s);
                    }
                } catch (RuntimeException e) {
                    problems.add("token " + id + " at block " + block + ": undecodable state (" + e.getClass().getSimpleName() + ")");
                }
            }
        }
        return new TokenSnapshot(states, missing, problems);
    }
}
