package io.dstack.vpn.cli;

import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import io.dstack.vpn.chain.contract.AccessContract;
import io.dstack.vpn.chain.rpc.RpcClient;
import io.dstack.vpn.chain.rpc.RpcException;
import io.dstack.vpn.chain.rpc.RpcListener;
import picocli.CommandLine.Option;

/**
 * Where the contract is and how to reach it. The admin's own settings come from flags, then the environment
 * (DSTACK_RPC_URL, DSTACK_CONTRACT, DSTACK_CHAIN_ID); {@link ReadChainOptions} may fill gaps from a VpnNetwork,
 * {@link WriteChainOptions} never does. Checks the chain id and the contract before anything else.
 */
abstract class ChainOptions {
    /** The default chain id: Base mainnet. */
    static final long BASE_CHAIN_ID = 8453;

    @Option(names = "--rpc-url", description = "JSON-RPC endpoint (repeatable; env DSTACK_RPC_URL, comma-separated)")
    List<String> rpcUrls = new ArrayList<>();

    @Option(names = "--contract", description = "access contract address (env DSTACK_CONTRACT)")
    String contract;

    @Option(names = "--chain-id", description = "expected chain id (env DSTACK_CHAIN_ID; default 8453, Base)")
    Long chainId;

    private RpcClient rpc;
    private Resolved resolved;

    record Resolved(List<String> rpcUrls, String contract, long chainId) {
    }

    /** What the admin said, by flag or variable; empty or null where neither did. */
    record Own(List<String> rpcUrls, String contract, Long chainId) {
    }

    /** The settings this command works with, from {@link #own} and whatever else the kind of command allows. */
    abstract Resolved resolve(DstackVpn root);

    Resolved resolved(DstackVpn root) {
        if (resolved == null) {
            resolved = resolve(root);
        }
        return resolved;
    }

    Own own(Map<String, String> env) {
        List<String> urls = new ArrayList<>(rpcUrls);
        String c = contract;
        Long id = chainId;
        if (urls.isEmpty() && !blank(env.get("DSTACK_RPC_URL"))) {
            Arrays.stream(env.get("DSTACK_RPC_URL").split(",")).map(String::strip).filter(s -> !s.isEmpty()).forEach(urls::add);
        }
        if (c == null && !blank(env.get("DSTACK_CONTRACT"))) {
            c = env.get("DSTACK_CONTRACT").strip();
        }
        if (id == null && !blank(env.get("DSTACK_CHAIN_ID"))) {
            try {
                id = Long.parseLong(env.get("DSTACK_CHAIN_ID").strip());
            } catch (NumberFormatException e) {
                throw new CliException(ExitCodes.CONFIG, "DSTACK_CHAIN_ID '" + env.get("DSTACK_CHAIN_ID") + "' is not a number");
            }
        }
        return new Own(urls, c, id);
    }

    /** Refuses what is still missing; {@code where} says where else it could have come from. */
    static Resolved complete(List<String> urls, String c, Long id, String where) {
        if (urls.isEmpty()) {
            throw new CliException(ExitCodes.CONFIG, "no RPC endpoint: pass --rpc-url or set DSTACK_RPC_URL" + where);
        }
        if (c == null) {
            throw new CliException(ExitCodes.CONFIG, "no contract: pass --contract or set DSTACK_CONTRACT" + where);
        }
        return new Resolved(urls, Inputs.address("contract", c), id == null ? BASE_CHAIN_ID : id);
    }

    /** An empty variable counts as unset. */
    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    /** An RPC client after checking that the endpoint serves the expected chain. */
    RpcClient rpc(DstackVpn root) {
        if (rpc == null) {
            Resolved r = resolved(root);
            rpc = new RpcClient(r.rpcUrls(), Duration.ofSeconds(10), 4, Duration.ofMillis(250), Duration.ofSeconds(2), RpcListener.NONE);
            long served;
            try {
                served = AccessContract.hexLong(rpc.call("eth_chainId").asText());
            } catch (RpcException e) {
                throw new CliException(ExitCodes.UNAVAILABLE, "cannot reach the RPC endpoint (" + String.join(", ", rpc.endpointNames())
                        + "): " + e.getMessage());
            }
            if (served != r.chainId()) {
                throw new CliException(ExitCodes.CONFIG, "the RPC endpoint serves chain id " + served + ", expected " + r.chainId()
                        + " (use --chain-id to change the expectation)");
            }
            String code = rpc.call("eth_getCode", r.contract(), "latest").asText();
            if (code == null || code.equals("0x") || code.isEmpty()) {
                throw new CliException(ExitCodes.CONFIG, "there is no contract at " + r.contract() + " on chain " + served);
            }
        }
        return rpc;
    }

    String contract(DstackVpn root) {
        return resolved(root).contract();
    }

    String call(DstackVpn root, String data) {
        JsonNode r = rpc(root).call("eth_call", Map.of("to", contract(root), "data", data), "latest");
        return r.asText();
    }

    AccessContract.TokenState token(DstackVpn root, BigInteger id) {
        try {
            String owner = AccessContract.decodeAddress(call(root, AccessContract.ownerOf(id)));
            return AccessContract.decodeNodeAccess(id, call(root, AccessContract.getNodeAccess(id)), owner);
        } catch (RpcException e) {
            // ownerOf reverts for a token that does not exist; anything else is a real failure.
            if (!e.retryable() && e.getMessage().toLowerCase().contains("revert")) {
                throw new CliException(ExitCodes.NOT_FOUND, "token " + id + " does not exist");
            }
            throw e;
        }
    }
}
