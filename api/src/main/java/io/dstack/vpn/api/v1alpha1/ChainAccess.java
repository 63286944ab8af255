package io.dstack.vpn.api.v1alpha1;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "has(self.rpcUrls) || has(self.rpcUrlsSecretRef)",
        message = "access.chain needs RPC endpoints: set rpcUrls, or rpcUrlsSecretRef for URLs that embed an API key")
@ValidationRule(value = "!has(self.pollInterval) || duration(self.pollInterval) >= duration('100ms')",
        message = "access.chain.pollInterval must be at least 100ms")
@ValidationRule(value = "!has(self.resyncInterval) || duration(self.resyncInterval) >= duration('10s')",
        message = "access.chain.resyncInterval must be at least 10s")
@ValidationRule(value = "!has(self.grantConfirmationTime) || (self.grantConfirmationTime.matches('^([0-9]+(ms|s|m|h))+$') && duration(self.grantConfirmationTime) <= duration('24h'))",
        message = "access.chain.grantConfirmationTime must be a duration of whole ms, s, m or h (e.g. 4s, 1500ms) of at most 24h")
public class ChainAccess {

    public enum OnTransfer {
        /** The token's node keeps access whoever owns the token. */
        Keep,
        /** Access pauses (phase Suspended) until the new owner binds a key again (PublicKeyUpdated). */
        Suspend,
        /** A transfer ends access (phase Revoked). */
        Revoke
    }

    @Default("8453")
    @Min(1)
    @JsonPropertyDescription("EVM chain id; the operator refuses an RPC endpoint that reports another. Base mainnet: 8453.")
    public Long chainId;

    @Size(max = 8)
    @JsonPropertyDescription("JSON-RPC endpoints, tried in order with failover.")
    @ValidationRule(value = "self.all(u, u.matches('^(https?|wss?)://[^\\\\s]+$'))",
            message = "every rpcUrls entry must be an http(s):// or ws(s):// URL")
    public List<@Size(max = 2048) String> rpcUrls;

    @JsonPropertyDescription("Secret key holding newline-separated RPC URLs (for URLs that embed an API key).")
    public SecretKeyRef rpcUrlsSecretRef;

    @Required
    @Size(max = 42)
    @JsonPropertyDescription("Address of the access NFT contract.")
    @ValidationRule(value = "self.matches('^0x[0-9a-fA-F]{40}$')",
            message = "contractAddress must be an Ethereum address: 0x followed by 40 hex digits")
    public String contractAddress;

    @Default("0")
    @Min(0)
    @JsonPropertyDescription("Block to start reading logs from (the contract's deployment block).")
    public Long fromBlock;

    @Min(0)
    @Max(1000)
    @JsonPropertyDescription("Blocks a grant must be buried under before a node is admitted (1: admitted in the block that"
            + " carries it; 0: at first sight). With grantConfirmationTime too, both must hold. With neither, the grant waits"
            + " 4s of blocks at the observed block time (2 blocks on a 2 s chain, 20 on a 200 ms chain).")
    public Integer grantConfirmations;

    @Size(max = 16)
    @JsonPropertyDescription("How long a grant must be buried before a node is admitted, as a duration (e.g. 4s): turned"
            + " into blocks with the chain's observed block time, so that one value holds on 2 s and 200 ms chains."
            + " Revocations never wait: they act at first sight.")
    public String grantConfirmationTime;

    @Default("0")
    @Min(0)
    @Max(1000)
    @JsonPropertyDescription("Blocks before a revocation applies. 0 (the default) applies it at first sight.")
    public Integer revokeConfirmations;

    @Default("2s")
    @Size(max = 16)
    @JsonPropertyDescription("How often to ask for new blocks, as a duration (e.g. 2s).")
    public String pollInterval;

    @Default("5m")
    @Size(max = 16)
    @JsonPropertyDescription("How often to re-read the contract's logs since the last resync, and the tokens they name, to"
            + " catch missed events; one resync in 12 re-reads every known token.")
    public String resyncInterval;

    @Default("Revoke")
    @JsonPropertyDescription("What a token transfer does to the node's access: Keep, Suspend or Revoke.")
    public OnTransfer onTransfer;

    @JsonPropertyDescription("What to do while no RPC endpoint answers.")
    public ChainOutagePolicy chainOutage;

    @Default("false")
    @JsonPropertyDescription("Admit active tokens that match no VpnPeer as outside peers (e.g. TEE instances).")
    public Boolean importUnmatchedTokens;
}
