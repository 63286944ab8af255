package io.dstack.vpn.chain.contract;

import java.math.BigInteger;
import java.time.Duration;
import java.util.Map;

import org.web3j.crypto.Credentials;
import org.web3j.crypto.RawTransaction;
import org.web3j.crypto.TransactionEncoder;
import org.web3j.utils.Numeric;

import com.fasterxml.jackson.databind.JsonNode;

import io.dstack.vpn.chain.rpc.RpcClient;
import io.dstack.vpn.chain.rpc.RpcException;

/**
 * Signs and sends the access contract's write transactions (mint, revoke, transfer, key rotation, deploy)
 * and waits for the receipt. Used by the admin CLI and the tests; the operator never has one (it holds no
 * key). The signing key is held as web3j Credentials and never printed: {@link #toString()} shows the
 * address only.
 *
 * <p>Transactions are EIP-1559 (type 2) when the chain has a base fee, legacy (EIP-155) only when it has none;
 * the fees and the gas limit stay within {@link FeeLimits}, checked before anything is signed.
 */
public final class ContractWriter {
    /** A mined transaction: its hash, block, status and the first token id it minted, if any. */
    public record Receipt(String txHash, long block, boolean success, BigInteger mintedTokenId, String contractAddress) {
    }

    private final RpcClient rpc;
    private final Credentials credentials;
    private final long chainId;
    private final Duration receiptTimeout;
    private final FeeLimits limits;

    /** A writer without fee caps, for tests and tools on a local chain. */
    public ContractWriter(RpcClient rpc, String privateKeyHex, long chainId, Duration receiptTimeout) {
        this(rpc, Credentials.create(privateKeyHex), chainId, receiptTimeout, FeeLimits.UNLIMITED);
    }

    public ContractWriter(RpcClient rpc, Credentials credentials, long chainId, Duration receiptTimeout, FeeLimits limits) {
        this.rpc = rpc;
        this.credentials = credentials;
        this.chainId = chainId;
        this.receiptTimeout = receiptTimeout;
        this.limits = limits;
    }

    public String address() {
        return credentials.getAddress();
    }

    public Receipt deploy(String bytecode) {
        return send(null, bytecode);
    }

    public Receipt mint(String contract, String to, String nodeId, String publicKey, String tokenUri) {
        return send(contract, AccessContract.mintNodeAccess(to, nodeId, publicKey, tokenUri));
    }

    public Receipt revoke(String contract, BigInteger tokenId) {
        return send(contract, AccessContract.revokeNodeAccess(tokenId));
    }

    public Receipt transfer(String contract, String from, String to, BigInteger tokenId) {
        return send(contract, AccessContract.transferFrom(from, to, tokenId));
    }

    public Receipt updatePublicKey(String contract, BigInteger tokenId, String publicKey) {
        return send(contract, AccessContract.updatePublicKey(tokenId, publicKey));
    }

    /**
     * Builds, signs and sends a transaction; a revert surfaces as the node's error message, and fees over the
     * limits as a {@link FeeLimitExceededException}, in both cases before anything is signed.
     */
    public Receipt send(String to, String data) {
        BigInteger nonce = Numeric.decodeQuantity(rpc.call("eth_getTransactionCount", address(), "pending").asText());
        Map<String, Object> estimate = to == null ? Map.of("from", address(), "data", data)
                : Map.of("from", address(), "to", to, "data", data);
        // Estimation runs the call: a revert (not the owner, node id in use, …) is reported here, before signing.
        BigInteger gas = GasFees.gasLimit(Numeric.decodeQuantity(rpc.call("eth_estimateGas", estimate).asText()), limits);
        JsonNode baseFee = rpc.call("eth_getBlockByNumber", "latest", false).path("baseFeePerGas");
        GasFees fees = GasFees.choose(baseFee.isTextual() ? Numeric.decodeQuantity(baseFee.asText()) : null,
                () -> Numeric.decodeQuantity(rpc.call("eth_maxPriorityFeePerGas").asText()),
                () -> Numeric.decodeQuantity(rpc.call("eth_gasPrice").asText()), limits);
        byte[] signed = switch (fees) {
            // A type-2 transaction carries its chain id inside; "" as the recipient makes a contract creation.
            case GasFees.Eip1559 f -> TransactionEncoder.signMessage(RawTransaction.createTransaction(chainId, nonce, gas, to == null ? "" : to,
                    BigInteger.ZERO, data, f.maxPriorityFeePerGas(), f.maxFeePerGas()), credentials);
            case GasFees.Legacy l -> TransactionEncoder.signMessage(to == null
                    ? RawTransaction.createContractTransaction(nonce, l.gasPrice(), gas, BigInteger.ZERO, data)
                    : RawTransaction.createTransaction(nonce, l.gasPrice(), gas, to, BigInteger.ZERO, data), chainId, credentials);
        };
        String hash = rpc.call("eth_sendRawTransaction", Numeric.toHexString(signed)).asText();
        return awaitReceipt(hash);
    }

    private Receipt awaitReceipt(String hash) {
        long deadline = System.nanoTime() + receiptTimeout.toNanos();
        long sleepMs = 2; // a quick first look (automining dev chains), then back off to 250 ms
        while (System.nanoTime() < deadline) {
            JsonNode r = rpc.call("eth_getTransactionReceipt", hash);
            if (r != null && !r.isNull()) {
                BigInteger minted = null;
                for (JsonNode log : r.path("logs")) {
                    if (AccessContract.decodeLog(log) instanceof AccessEvent.Granted g) {
                        minted = g.tokenId();
                        break;
                    }
                }
                return new Receipt(hash, AccessContract.hexLong(r.path("blockNumber").asText()), "0x1".equals(r.path("status").asText()),
                        minted, r.path("contractAddress").isNull() ? null : r.path("contractAddress").asText(null));
            }
            try {
                Thread.sleep(sleepMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RpcException("interrupted waiting for " + hash, false, null, e);
            }
            sleepMs = Math.min(250, sleepMs * 2);
        }
        throw new RpcException("no receipt for " + hash + " within " + receiptTimeout.toSeconds() + " s", true, null, null);
    }

    @Override
    public String toString() {
        return "ContractWriter[" + address() + "]";
    }
}
