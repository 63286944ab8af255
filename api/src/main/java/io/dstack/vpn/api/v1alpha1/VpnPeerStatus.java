package io.dstack.vpn.api.v1alpha1;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.kubernetes.api.model.Condition;

/**
 * Written by three parties with server-side apply, each owning its own fields: admission (phase, reason,
 * message, token, observedGeneration, condition Admitted), IPAM (address) and the node's agent (applied,
 * condition Applied). Conditions are a map list keyed by type, so each writer owns its own entries.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class VpnPeerStatus {
    public Long observedGeneration;
    public List<Condition> conditions;
    public VpnPeerPhase phase;
    @JsonPropertyDescription("Machine-readable reason for the phase, e.g. NoActiveToken, KeyMismatch, Admitted.")
    public String reason;
    public String message;
    @JsonPropertyDescription("Overlay address assigned by the operator's IPAM.")
    public String address;
    @JsonPropertyDescription("The access token behind the decision, when the source is the chain.")
    public TokenRef token;
    @JsonPropertyDescription("What this peer's agent has applied, reported by the agent.")
    public AppliedState applied;

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class TokenRef {
        public String id;
        public String owner;
        @JsonPropertyDescription("Block number the decision was made at.")
        public Long block;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class AppliedState {
        @JsonPropertyDescription("Peer-set generation the agent has applied.")
        public Long generation;
        public String time;
        public Integer peersConfigured;
        @JsonPropertyDescription("Peers with a handshake in the last 3 minutes.")
        public Integer peersWithRecentHandshake;
        public Long rxBytes;
        public Long txBytes;
    }
}
