package io.dstack.vpn.operator.chain;

import java.math.BigInteger;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.status.ConditionSet;
import io.dstack.vpn.api.text.SafeText;
import io.dstack.vpn.api.v1alpha1.ChainOutagePolicy;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnNetworkStatus;
import io.dstack.vpn.chain.follower.FollowerHealth;

/** Turns the follower's health into the network's chain position and its ChainSynced/ChainReachable conditions. */
public final class ChainStatus {

    public static VpnNetworkStatus.ChainPosition position(ChainSources sources, VpnNetwork network) {
        FollowerHealth h = sources.health(network).orElse(null);
        if (h == null) {
            return null;
        }
        sources.reportHealth(network, h);
        VpnNetworkStatus.ChainPosition p = new VpnNetworkStatus.ChainPosition();
        p.blockNumber = h.checkpoint() < 0 ? null : h.checkpoint();
        p.blockHash = h.checkpointHash();
        p.headBlock = h.head() < 0 ? null : h.head();
        p.lagBlocks = h.lag();
        p.lastSyncTime = h.lastSuccess() == null ? null : h.lastSuccess().truncatedTo(ChronoUnit.SECONDS).toString();
        p.blockTimeMillis = h.blockTime() == null ? null : h.blockTime().toMillis();
        sources.get(network).ifPresent(s -> {
            p.grantConfirmationBlocks = s.grantConfirmationBlocks();
            p.mode = s.mode();
        });
        return p;
    }

    public static void conditions(ChainSources sources, VpnNetwork network, ConditionSet conditions) {
        FollowerHealth h = sources.health(network).orElse(null);
        if (h == null) {
            conditions.set(Conditions.CHAIN_SYNCED, false, "Starting", "the chain follower is starting");
            return;
        }
        if (h.fatal()) {
            conditions.set(Conditions.CHAIN_SYNCED, false, "ChainSourceFailed", h.error());
        } else if (!h.synced()) {
            conditions.set(Conditions.CHAIN_SYNCED, false, "Syncing", "first sync: block " + h.checkpoint() + " of " + h.head()
                    + (h.error() == null ? "" : "; last error: " + h.error()));
        } else {
            conditions.set(Conditions.CHAIN_SYNCED, true, "Synced", "following block " + h.checkpoint() + " (head " + h.head()
                    + "), " + h.tokens() + " tokens");
        }
        dataQuality(sources, network, conditions);
        if (h.error() == null) {
            conditions.set(Conditions.CHAIN_REACHABLE, true, "RpcAvailable", "last poll succeeded");
        } else {
            ChainOutagePolicy outage = network.getSpec().access.chain.chainOutage;
            boolean suspends = outage != null && outage.policy == ChainOutagePolicy.Policy.SuspendAfterGracePeriod;
            conditions.set(Conditions.CHAIN_REACHABLE, false, "RpcUnavailable", h.error() + "; "
                    + (suspends ? "peers are suspended once the grace period " + outage.gracePeriod + " has passed"
                            : "keeping the last known access state (policy KeepLastKnown)"));
        }
    }

    /** Chain data is untrusted: unusable tokens, node ids with several active tokens and undecodable logs are named here. */
    private static void dataQuality(ChainSources sources, VpnNetwork network, ConditionSet conditions) {
        var source = sources.get(network).orElse(null);
        if (source == null) {
            return;
        }
        var registry = source.registry();
        // One copy of the token list per reconcile, not one per question.
        List<io.dstack.vpn.chain.registry.TokenRecord> unusable = registry.all().stream().filter(t -> !t.valid()).toList();
        List<String> invalid = unusable.stream().map(t -> "#" + t.tokenId()).limit(10).toList();
        long invalidCount = unusable.size();
        Map<String, List<BigInteger>> duplicates = registry.duplicateNodeIds();
        List<String> malformed = registry.problems();
        if (invalidCount == 0 && duplicates.isEmpty() && malformed.isEmpty()) {
            conditions.set(Conditions.CHAIN_DATA_VALID, true, "Valid", "every token carries a DNS-safe node id and a WireGuard key");
            return;
        }
        List<String> parts = new ArrayList<>();
        if (invalidCount > 0) {
            parts.add(invalidCount + " unusable token(s) (" + String.join(", ", invalid) + (invalidCount > 10 ? ", …" : "")
                    + "); their peers are Denied");
        }
        if (!duplicates.isEmpty()) {
            parts.add("node ids with several active tokens, the newest wins: " + duplicates.entrySet().stream().limit(10)
                    .map(e -> e.getKey() + " " + e.getValue()).toList());
        }
        if (!malformed.isEmpty()) {
            parts.add(malformed.size() + " unusable log(s) or token read(s) (skipped; every token re-read), latest: "
                    + SafeText.bounded(malformed.get(malformed.size() - 1), 300));
        }
        conditions.set(Conditions.CHAIN_DATA_VALID, false, "InvalidChainData", String.join("; ", parts));
    }

    private ChainStatus() {
    }
}
