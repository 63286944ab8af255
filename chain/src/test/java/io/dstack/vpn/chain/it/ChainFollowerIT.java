package io.dstack.vpn.chain.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.chain.follower.ChainFollower;
import io.dstack.vpn.chain.follower.Checkpoint;
import io.dstack.vpn.chain.follower.FollowerConfig;
import io.dstack.vpn.chain.follower.FollowerHealth;
import io.dstack.vpn.chain.follower.FollowerListener;
import io.dstack.vpn.chain.registry.AccessRegistry;
import io.dstack.vpn.chain.registry.TokenRecord;
import io.dstack.vpn.chain.rpc.RpcException;
import io.dstack.vpn.testing.Anvil;

/** The follower against a real anvil running our contract: grants, revokes, transfers, rotations, bad data, reorgs, outages, restarts. */
class ChainFollowerIT {
    TestChain chain;
    AccessRegistry registry;
    ChainFollower follower;
    final List<Checkpoint> checkpoints = new ArrayList<>();
    final List<long[]> reorgs = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        chain = new TestChain(Anvil.Options.defaults());
        registry = new AccessRegistry();
        follower = newFollower(registry);
    }

    @AfterEach
    void stop() {
        chain.close();
    }

    ChainFollower newFollower(AccessRegistry r) {
        return new ChainFollower(chain.rpc, FollowerConfig.of(chain.contract, Anvil.BASE_CHAIN_ID, 0, Duration.ofSeconds(1), Duration.ofHours(1)),
                r, new FollowerListener() {
                    @Override
                    public void checkpoint(Checkpoint c) {
                        checkpoints.add(c);
                    }

                    @Override
                    public void reorg(long from, long ancestor, int tokens) {
                        reorgs.add(new long[] {from, ancestor, tokens});
                    }
                }, Clock.systemUTC());
    }

    static String key() {
        return WireGuardKey.generatePrivate().publicKey().toBase64();
    }

    BigInteger mint(String nodeId, String key) {
        return chain.owner.mint(chain.contract, Anvil.ACCOUNT_1, nodeId, key, "").mintedTokenId();
    }

    TokenRecord token(BigInteger id) {
        return registry.get(id).orElseThrow();
    }

    @Test
    void syncsGrantsAndAppliesRevokeTransferAndRotation() throws Exception {
        String keyA = key();
        BigInteger a = mint("node-a", keyA);
        BigInteger b = mint("node-b", key());
        follower.poll();
        assertThat(registry.synced()).isTrue();
        assertThat(registry.size()).isEqualTo(2);
        assertThat(token(a).nodeId()).isEqualTo("node-a");
        assertThat(token(a).publicKey()).isEqualTo(keyA);
        assertThat(token(a).active()).isTrue();
        assertThat(token(a).valid()).isTrue();
        assertThat(token(a).owner()).isEqualToIgnoringCase(Anvil.ACCOUNT_1);

        long revokeBlock = chain.owner.revoke(chain.contract, b).block();
        follower.poll();
        assertThat(token(b).active()).isFalse();
        assertThat(token(b).changedAt()).isEqualTo(revokeBlock);

        long transferBlock = chain.holder.transfer(chain.contract, Anvil.ACCOUNT_1, Anvil.ACCOUNT_2, a).block();
        follower.poll();
        assertThat(token(a).owner()).isEqualToIgnoringCase(Anvil.ACCOUNT_2);
        assertThat(token(a).transferred()).isTrue();
        assertThat(token(a).transferredAt()).isEqualTo(transferBlock);

        String rotated = key();
        ContractWriterFor2 newOwner = new ContractWriterFor2(chain);
        long rotateBlock = newOwner.writer.updatePublicKey(chain.contract, a, rotated).block();
        follower.poll();
        assertThat(token(a).publicKey()).isEqualTo(rotated);
        assertThat(token(a).keyBoundAt()).isEqualTo(rotateBlock);
        assertThat(follower.health().error()).isNull();
    }

    /** The holder of ACCOUNT_2's key, for the rotation after a transfer. */
    record ContractWriterFor2(io.dstack.vpn.chain.contract.ContractWriter writer) {
        ContractWriterFor2(TestChain chain) {
            this(new io.dstack.vpn.chain.contract.ContractWriter(chain.rpc, Anvil.PRIVATE_KEY_2, Anvil.BASE_CHAIN_ID, Duration.ofSeconds(30)));
        }
    }

    @Test
    void malformedTokenDataIsFlaggedNotFatal() {
        BigInteger badKey = mint("node-x", "not-a-wireguard-key");
        BigInteger badNode = mint("Node_Y!", key());
        BigInteger huge = mint("node-z", "A".repeat(5000));
        BigInteger good = mint("node-ok", key());
        follower.poll();
        assertThat(token(badKey).problem()).contains("not a WireGuard public key");
        assertThat(token(badNode).problem()).contains("DNS-1123");
        assertThat(token(huge).problem()).contains("5000 characters").hasSizeLessThan(300);
        assertThat(token(good).valid()).isTrue();
        assertThat(follower.health().error()).isNull();
    }

    @Test
    void onlyTheOwnerMints() {
        assertThatThrownBy(() -> chain.holder.mint(chain.contract, Anvil.ACCOUNT_1, "node-q", key(), ""))
                .isInstanceOf(RpcException.class);
    }

    @Test
    void reorgThatRemovesARevokeIsRewound() throws Exception {
        BigInteger a = mint("node-a", key());
        follower.poll();
        chain.owner.revoke(chain.contract, a);
        follower.poll();
        assertThat(token(a).active()).isFalse();

        // Replace the block that carried the revoke with an empty one (anvil sends no removed logs).
        chain.anvil.rpc("anvil_rollback", "[1]");
        chain.mine(2);
        follower.poll();
        follower.poll();
        assertThat(reorgs).isNotEmpty();
        assertThat(token(a).active()).as("revoke was rolled back").isTrue();
    }

    @Test
    void reorgThatRemovesAGrantIsRewound() throws Exception {
        mint("node-a", key());
        follower.poll();
        BigInteger b = mint("node-b", key());
        follower.poll();
        assertThat(registry.get(b)).isPresent();

        chain.anvil.rpc("anvil_rollback", "[1]");
        chain.mine(2);
        follower.poll();
        follower.poll();
        assertThat(registry.get(b)).as("grant was rolled back").isEmpty();
        assertThat(registry.size()).isEqualTo(1);
    }

    @Test
    void rpcOutageKeepsTheLastKnownStateThenCatchesUp() throws Exception {
        BigInteger a = mint("node-a", key());
        follower.poll();
        chain.anvil.pause();
        try {
            // SIGSTOP is asynchronous: make sure anvil has stopped answering before polling.
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> {
                try {
                    chain.anvil.rpc("eth_chainId", "[]", Duration.ofMillis(200));
                    return false;
                } catch (java.io.IOException timedOut) {
                    return true;
                }
            });
            follower.poll();
            FollowerHealth h = follower.health();
            assertThat(h.error()).isNotNull();
            assertThat(token(a).active()).as("last known state kept").isTrue();
        } finally {
            chain.anvil.resume();
        }
        chain.owner.revoke(chain.contract, a);
        follower.poll();
        assertThat(follower.health().error()).isNull();
        assertThat(token(a).active()).isFalse();
    }

    @Test
    void restartResumesFromTheCheckpointWithoutRescanning() throws Exception {
        BigInteger a = mint("node-a", key());
        BigInteger b = mint("node-b", key());
        chain.holder.transfer(chain.contract, Anvil.ACCOUNT_1, Anvil.ACCOUNT_2, b);
        follower.poll();
        Checkpoint saved = checkpoints.get(checkpoints.size() - 1);
        assertThat(saved.tokenIds()).containsExactly(a, b);
        assertThat(saved.history()).containsKey(b);

        chain.owner.revoke(chain.contract, a);
        AccessRegistry fresh = new AccessRegistry();
        ChainFollower restarted = newFollower(fresh);
        restarted.resumeFrom(saved);
        int before = chain.calls.get();
        restarted.poll();
        int used = chain.calls.get() - before;
        assertThat(fresh.synced()).isTrue();
        assertThat(fresh.get(a).orElseThrow().active()).as("revoke after the checkpoint applied").isFalse();
        assertThat(fresh.get(b).orElseThrow().transferred()).as("transfer history kept across the restart").isTrue();
        // chainId + one batch for 2 tokens + latest block + logs of one block (or a small range): no scan from block 0.
        assertThat(used).isLessThanOrEqualTo(10);
    }

    @Test
    void revokedAndReMintedNodeIdFollowsTheNewestToken() throws Exception {
        BigInteger first = mint("node-a", key());
        chain.owner.revoke(chain.contract, first);
        String newKey = key();
        BigInteger second = mint("node-a", newKey);
        follower.poll();
        TokenRecord latest = registry.latestFor("node-a").orElseThrow();
        assertThat(latest.tokenId()).isEqualTo(second);
        assertThat(latest.active()).isTrue();
        assertThat(latest.publicKey()).isEqualTo(newKey);
        assertThat(token(first).active()).isFalse();
        assertThat(registry.duplicateNodeIds()).isEmpty();
    }
}
