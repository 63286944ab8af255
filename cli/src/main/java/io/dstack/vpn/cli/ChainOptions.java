package io.dstack.vpn.cli;

import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.chain.contract.AccessContract;
import io.dstack.vpn.chain.contract.ContractWriter;
import io.dstack.vpn.chain.rpc.RpcClient;
import io.dstack.vpn.chain.rpc.RpcException;
import io.dstack.vpn.chain.rpc.RpcListener;
import picocli.CommandLine.Option;

/**
 * Where the contract is: flags, the environment (DSTACK_RPC_URL, DSTACK_CONTRACT, DSTACK_CHAIN_ID), or a
 * VpnNetwork in the cluster ({@code --vpn-network}), in that order. Checks the chain id before anything else.
 */
public class ChainOptions {
    @Option(names = "--rpc-url", description = "JSON-RPC endpoint (repeatable; env DSTACK_RPC_URL, comma-separated)")
    List<String> rpcUrls = new ArrayList<>();

    @Option(names = "--contract", description = "access contract address (env DSTACK_CONTRACT)")
    String contract;

    @Option(names = "--chain-id", description = "expected chain id (env DSTACK_CHAIN_ID; default 8453, Base)")
    Long chainId;

    @Option(names = "--vpn-network", description = "take RPC URLs, contract and chain id from this VpnNetwork")
    String vpnNetwork;

    private RpcClient rpc;
    /** The network's first block, when the settings came from a VpnNetwork (list starts there). */
    Long networkFromBlock;

    record Resolved(List<String> rpcUrls, String contract, long chainId) {
    }

    Resolved resolve(DstackVpn root) {
        List<String> urls = new ArrayList<>(rpcUrls);
        String c = contract;
        Long id = chainId;
        Map<String, String> env = root.env;
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
        if (vpnNetwork != null && (urls.isEmpty() || c == null || id == null)) {
            VpnNetwork n = root.kube().resources(VpnNetwork.class).inNamespace(root.namespace()).withName(vpnNetwork).get();
            if (n == null) {
                throw new CliException(ExitCodes.NOT_FOUND, "VpnNetwork " + vpnNetwork + " not found in namespace " + root.namespace());
            }
            if (n.getSpec().access.chain == null) {
                throw new CliException(ExitCodes.CONFIG, "VpnNetwork " + vpnNetwork + " does not use the chain as its access source");
            }
            var chain = n.getSpec().access.chain;
            if (urls.isEmpty() && chain.rpcUrls != null) {
                urls.addAll(chain.rpcUrls);
            }
            if (urls.isEmpty() && chain.rpcUrlsSecretRef != null) {
                var secret = root.kube().secrets().inNamespace(root.namespace()).withName(chain.rpcUrlsSecretRef.name).get();
                String encoded = secret == null || secret.getData() == null ? null : secret.getData().get(chain.rpcUrlsSecretRef.key);
                if (encoded == null) {
                    throw new CliException(ExitCodes.CONFIG, "Secret " + chain.rpcUrlsSecretRef.name + " has no key " + chain.rpcUrlsSecretRef.key);
                }
                Arrays.stream(new String(java.util.Base64.getDecoder().decode(encoded), java.nio.charset.StandardCharsets.UTF_8).split("[\\n,]"))
                        .map(String::strip).filter(u -> !u.isEmpty()).forEach(urls::add);
            }
            networkFromBlock = chain.fromBlock;
            if (c == null) {
                c = chain.contractAddress;
            }
            if (id == null) {
                id = chain.chainId;
            }
        }
        if (urls.isEmpty()) {
            throw new CliException(ExitCodes.CONFIG, "no RPC endpoint: pass --rpc-url, set DSTACK_RPC_URL, or name a --vpn-network");
        }
        if (c == null) {
            throw new CliException(ExitCodes.CONFIG, "no contract: pass --contract, set DSTACK_CONTRACT, or name a --vpn-network");
        }
        return new Resolved(urls, Inputs.address("contract", c), id == null ? 8453 : id);
    }

    /** An empty variable counts as unset. */
    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    /** An RPC client after checking that the endpoint serves the expected chain. */
    RpcClient rpc(DstackVpn root) {
        if (rpc == null) {
            Resolved r = resolve(root);
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
        return resolve(root).contract();
    }

    String call(DstackVpn root, String data) {
        JsonNode r = rpc(root).call("eth_call", Map.of("to", contract(root), "data", data), "latest");
        return r.asText();
    }

    /** A writer with the contract owner's key from PRIVATE_KEY; refuses early when that key is not the owner. */
    ContractWriter ownerWriter(DstackVpn root) {
        String key = root.env.get("PRIVATE_KEY");
        if (key == null || key.isBlank()) {
            throw new CliException(ExitCodes.CONFIG, "PRIVATE_KEY is not set: export the contract owner's key to mint or revoke");
        }
        RpcClient client = rpc(root);
        long id = resolve(root).chainId();
        ContractWriter writer;
        try {
            writer = new ContractWriter(client, key.strip(), id, Duration.ofMinutes(2));
        } catch (RuntimeException e) {
            // Never echo the key, not even a bad one.
            throw new CliException(ExitCodes.CONFIG, "PRIVATE_KEY is not a valid private key (64 hex digits)");
        }
        String owner = AccessContract.decodeAddress(call(root, AccessContract.owner()));
        if (!owner.equalsIgnoreCase(writer.address())) {
            throw new CliException(ExitCodes.CONFIG, "PRIVATE_KEY belongs to " + writer.address() + ", but the contract owner is " + owner);
        }
        return writer;
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
