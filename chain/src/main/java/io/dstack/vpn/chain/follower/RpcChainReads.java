package io.dstack.vpn.chain.follower;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import io.dstack.vpn.chain.contract.AccessContract;
import io.dstack.vpn.chain.contract.AccessEvent;
import io.dstack.vpn.chain.contract.Hex;
import io.dstack.vpn.chain.contract.LogCheck;
import io.dstack.vpn.chain.rpc.RpcClient;
import io.dstack.vpn.chain.rpc.RpcException;

/** {@link ChainReads} over JSON-RPC: {@code eth_chainId}, {@code eth_getBlockByNumber}, {@code eth_getLogs}, batched {@code eth_call}s. */
final class RpcChainReads implements ChainReads {
    private static final Comparator<AccessEvent> CHAIN_ORDER = Comparator.<AccessEvent>comparingLong(e -> e.at().block())
            .thenComparingLong(e -> e.at().logIndex());

    private final RpcClient rpc;
    private final String contract;
    private final TokenReader tokens;

    RpcChainReads(RpcClient rpc, String contract, int batchSize) {
        this.rpc = rpc;
        this.contract = contract;
        this.tokens = new TokenReader(rpc, contract, batchSize);
    }

    @Override
    public long chainId() {
        return Hex.quantity(rpc.call("eth_chainId").asText());
    }

    @Override
    public BlockRef latestBlock() {
        return blockByTag("latest");
    }

    @Override
    public BlockRef block(long number) {
        String tag = tag(number);
        BlockRef block = blockByTag(tag);
        if (block.number() != number) {
            throw new RpcException("asked for block " + tag + ", got block " + block.number(), true, null, null);
        }
        return block;
    }

    private BlockRef blockByTag(String tag) {
        return BlockRef.fromJson(rpc.call("eth_getBlockByNumber", tag, false), tag);
    }

    @Override
    public List<AccessEvent> logsOf(BlockRef block) {
        return decode(rpc.call("eth_getLogs", Map.of("blockHash", block.hash(), "address", contract,
                "topics", List.of(AccessContract.FOLLOWED_TOPICS))), LogCheck.block(contract, block.number(), block.hash()));
    }

    @Override
    public List<AccessEvent> logsBetween(long from, long to) {
        return decode(rpc.call("eth_getLogs", Map.of("fromBlock", tag(from), "toBlock", tag(to), "address", contract,
                "topics", List.of(AccessContract.FOLLOWED_TOPICS))), LogCheck.range(contract, from, to));
    }

    @Override
    public TokenSnapshot tokensAt(Collection<BigInteger> ids, long block) {
        return tokens.readAt(ids, block);
    }

    private static String tag(long number) {
        return "0x" + Long.toHexString(number);
    }

    /** Checked, decoded logs in chain order; a log that fails {@link LogCheck} becomes Malformed at the range's end. */
    private static List<AccessEvent> decode(JsonNode logs, LogCheck check) {
        if (logs == null || !logs.isArray()) {
            throw new RpcException("eth_getLogs answered with " + (logs == null ? "nothing" : "a " + logs.getNodeType()), true, null, null);
        }
        List<AccessEvent> events = new ArrayList<>();
        for (JsonNode log : logs) {
            if (log.path("removed").asBoolean(false)) {
                continue; // the follower's hash checks find reorgs, also on RPCs that never send removed logs
            }
            String problem = check.problem(log);
            events.add(problem == null ? AccessContract.decodeLog(log)
                    : new AccessEvent.Malformed(new AccessEvent.LogPosition(check.toBlock(), null, -1, null), null, problem));
        }
        events.sort(CHAIN_ORDER);
        return events;
    }
}
