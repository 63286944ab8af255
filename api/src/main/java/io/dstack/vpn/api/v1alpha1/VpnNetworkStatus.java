package io.dstack.vpn.api.v1alpha1;

import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.kubernetes.api.model.Condition;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class VpnNetworkStatus {
    public Long observedGeneration;
    public List<Condition> conditions = new ArrayList<>();
    public PeerCounts peers;
    public AddressUsage addresses;
    public PeerSetRef peerSet;
    public Convergence convergence;
    public ChainPosition chain;

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class PeerCounts {
        public int total;
        public int active;
        public int pending;
        public int suspended;
        public int revoked;
        public int denied;
        @JsonPropertyDescription("Members admitted without a VpnPeer (access.chain.importUnmatchedTokens).")
        public Integer outside;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class AddressUsage {
        @JsonPropertyDescription("Usable peer addresses in the CIDR.")
        public long capacity;
        public long allocated;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class PeerSetRef {
        @JsonPropertyDescription("The peer set's index ConfigMap; the peers are in its shards, <configMap>-<k>-of-<shards>.")
        public String configMap;
        public Long generation;
        public Integer peers;
        @JsonPropertyDescription("The index and every shard together, in bytes.")
        public Integer bytes;
        @JsonPropertyDescription("How many shards the peers are spread over (a power of two that grows with the network).")
        public Integer shards;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class Convergence {
        @JsonPropertyDescription("Peer-set generation the nodes should apply.")
        public Long generation;
        @JsonPropertyDescription("Agents that report having applied that generation.")
        public int nodesApplied;
        @JsonPropertyDescription("Active peers in the peer set (each is expected to run an agent).")
        public int nodesTotal;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class ChainPosition {
        @JsonPropertyDescription("Last block the follower processed (the checkpoint).")
        public Long blockNumber;
        public String blockHash;
        public Long headBlock;
        public Long lagBlocks;
        public String lastSyncTime;
        @JsonPropertyDescription("The chain's block time as observed over its recent blocks, in milliseconds.")
        public Long blockTimeMillis;
        @JsonPropertyDescription("Blocks a grant waits for now: grantConfirmations and grantConfirmationTime at the observed block time.")
        public Long grantConfirmationBlocks;
        @JsonPropertyDescription("How new blocks reach the operator: Subscription (a WebSocket eth_subscribe) or Polling.")
        public String mode;
    }
}
