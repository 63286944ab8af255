package io.dstack.vpn.operator.chain;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import io.dstack.vpn.api.v1alpha1.ChainAccess;
import io.dstack.vpn.api.v1alpha1.ChainOutagePolicy;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.api.v1alpha1.VpnPeerStatus;
import io.dstack.vpn.chain.follower.FollowerHealth;
import io.dstack.vpn.chain.registry.TokenRecord;
import io.dstack.vpn.operator.access.AccessDecision;
import io.dstack.vpn.operator.access.AccessPolicy;
import io.dstack.vpn.operator.access.OutsidePeer;

/**
 * Admission by the access NFT: a peer is Active iff the newest token carrying its node id is active, has
 * valid data, binds exactly the peer's key, has its grant (or key rotation) buried under the configured
 * confirmations, and the transfer policy allows its current owner. Revocations apply at first sight: the
 * registry records them in the block it sees them. Decisions come from memory; nothing here calls the RPC.
 */
public final class ChainAccessPolicy implements AccessPolicy {
    private final ChainSources sources;

    public ChainAccessPolicy(ChainSources sources) {
        this.sources = sources;
    }

    @Override
    public boolean ready(VpnNetwork network) {
        return sources.get(network).map(s -> s.registry().synced()).orElse(false);
    }

    @Override
    public AccessDecision decide(VpnNetwork network, VpnPeer peer) {
        ChainAccess chain = network.getSpec().access.chain;
        String nodeId = peer.getSpec().nodeId;
        var source = sources.get(network).orElse(null);
        if (source == null || !source.registry().synced()) {
            return AccessDecision.of(VpnPeerPhase.Pending, "ChainNotSynced", "the chain follower has not finished its first sync");
        }
        FollowerHealth health = source.health();
        if (outageExpired(chain.chainOutage, health)) {
            return AccessDecision.of(VpnPeerPhase.Suspended, "ChainOutage", "no chain data since " + health.lastSuccess()
                    + ", longer than the grace period " + chain.chainOutage.gracePeriod + " (policy SuspendAfterGracePeriod)");
        }
        ChainSource.View view = source.view(); // O(1) per peer: a network reconcile decides every peer
        TokenRecord t = view.latest().get(nodeId);
        if (t == null) {
            return AccessDecision.of(VpnPeerPhase.Pending, "NoToken", "no access token binds node " + nodeId
                    + "; the contract owner mints one with: dstack-vpn register <holder> --peer " + peer.getMetadata().getName()
                    + " --vpn-network " + network.getMetadata().getName() + " -n " + peer.getMetadata().getNamespace());
        }
        return decideToken(chain, t, peer.getSpec().publicKey, view.head(), source);
    }

    /**
     * Active tokens that match no VpnPeer, admitted as outside peers when the network asks for it
     * ({@code importUnmatchedTokens}): the same rules as for a VpnPeer, with the token's own key.
     */
    @Override
    public List<OutsidePeer> outsidePeers(VpnNetwork network, Set<String> knownNodeIds) {
        ChainAccess chain = network.getSpec().access.chain;
        var source = sources.get(network).orElse(null);
        if (!Boolean.TRUE.equals(chain.importUnmatchedTokens) || source == null || !source.registry().synced()
                || outageExpired(chain.chainOutage, source.health())) {
            return List.of();
        }
        Map<String, TokenRecord> newest = new TreeMap<>();
        for (TokenRecord t : source.registry().all()) {
            if (t.valid() && !knownNodeIds.contains(t.nodeId())) {
                newest.merge(t.nodeId(), t, (a, b) -> a.tokenId().compareTo(b.tokenId()) >= 0 ? a : b);
            }
        }
        long head = source.registry().head();
        return newest.values().stream()
                .filter(t -> decideToken(chain, t, t.publicKey(), head, source).admitted())
                .map(t -> new OutsidePeer(t.nodeId(), t.publicKey(), t.tokenId().toString()))
                .toList();
    }

    private static AccessDecision decideToken(ChainAccess chain, TokenRecord t, String peerKey, long head, ChainSource source) {
        String nodeId = t.nodeId();
        VpnPeerStatus.TokenRef ref = new VpnPeerStatus.TokenRef();
        ref.id = t.tokenId().toString();
        ref.owner = t.owner();
        ref.block = t.changedAt();
        if (!t.valid()) {
            return new AccessDecision(VpnPeerPhase.Denied, "InvalidTokenData", "token #" + t.tokenId() + " is unusable: " + t.problem(), ref);
        }
        if (!t.active()) {
            return new AccessDecision(VpnPeerPhase.Revoked, "TokenRevoked",
                    "token #" + t.tokenId() + " for node " + nodeId + " was revoked (seen at block " + t.changedAt() + ")", ref);
        }
        if (t.transferred()) {
            ChainAccess.OnTransfer policy = chain.onTransfer == null ? ChainAccess.OnTransfer.Revoke : chain.onTransfer;
            if (policy == ChainAccess.OnTransfer.Revoke) {
                return new AccessDecision(VpnPeerPhase.Revoked, "TokenTransferred", "token #" + t.tokenId() + " moved from "
                        + t.ownerAtGrant() + " to " + t.owner() + " at block " + t.transferredAt() + " (policy onTransfer: Revoke)", ref);
            }
            if (policy == ChainAccess.OnTransfer.Suspend && t.keyBoundAt() <= t.transferredAt()) {
                return new AccessDecision(VpnPeerPhase.Suspended, "TokenTransferred", "token #" + t.tokenId() + " moved to " + t.owner()
                        + " at block " + t.transferredAt() + "; access resumes when the new owner binds a key (policy onTransfer: Suspend)", ref);
            }
        }
        if (!t.publicKey().equals(peerKey)) {
            return new AccessDecision(VpnPeerPhase.Pending, "KeyMismatch", "token #" + t.tokenId() + " binds node " + nodeId
                    + " to key " + t.publicKey() + ", not to this peer's key " + peerKey, ref);
        }
        long needed = source.grantConfirmationBlocks();
        long have = ChainSource.confirmations(t, head);
        if (have < needed) {
            return new AccessDecision(VpnPeerPhase.Pending, "AwaitingConfirmations", "token #" + t.tokenId() + " has " + Math.max(0, have)
                    + " of " + needed + " confirmations (" + source.grantConfirmationRule() + ")", ref);
        }
        ref.block = Math.max(t.grantedAt(), t.keyBoundAt());
        return new AccessDecision(VpnPeerPhase.Active, "TokenActive", "token #" + t.tokenId() + " (owner " + t.owner() + ") binds node "
                + nodeId + " to this key since block " + ref.block, ref);
    }

    private static boolean outageExpired(ChainOutagePolicy outage, FollowerHealth h) {
        if (outage == null || outage.policy != ChainOutagePolicy.Policy.SuspendAfterGracePeriod || h.error() == null || h.lastSuccess() == null) {
            return false;
        }
        Duration grace = Durations.parse(outage.gracePeriod, Duration.ofHours(1));
        return Instant.now().isAfter(h.lastSuccess().plus(grace));
    }

    @Override
    public String sourceName() {
        return "chain";
    }
}
