package io.dstack.vpn.operator.chain;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigInteger;
import java.time.Instant;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.chain.contract.AccessEvent;
import io.dstack.vpn.chain.registry.TokenRecord;

class EarlyRevocationsTest {
    static final Instant T0 = Instant.parse("2026-12-03T12:00:00Z");
    static final String HASH_A = "0x" + "a".repeat(64);
    static final String HASH_B = "0x" + "b".repeat(64);

    static AccessEvent.Revoked revoked(long token, long block, String hash) {
        return new AccessEvent.Revoked(new AccessEvent.LogPosition(block, hash, 0, "0x" + "c".repeat(64)), BigInteger.valueOf(token), "node-" + token);
    }

    static TokenRecord active(long token) {
        return new TokenRecord(BigInteger.valueOf(token), "node-" + token, "key", "0xowner", true, 5, "0xowner", 5, -1, 5, null);
    }

    @Test
    void aRevocationNearTheHeadCutsUntilTheFollowerReachesItsBlock() {
        EarlyRevocations early = new EarlyRevocations();
        assertThat(early.offer(revoked(7, 101, HASH_A), 100, T0)).isTrue();
        assertThat(early.overlay(active(7)).active()).isFalse();
        assertThat(early.overlay(active(7)).changedAt()).isEqualTo(101);
        assertThat(early.overlay(active(8)).active()).as("another token").isTrue();
        assertThat(early.settle(100, T0.plusSeconds(1))).as("block 101 not processed yet").isFalse();
        assertThat(early.settle(101, T0.plusSeconds(1))).isTrue();
        assertThat(early.overlay(active(7)).active()).as("the registry decides from here").isTrue();
    }

    @Test
    void aHostileLogFarAheadOfTheHeadIsRefused() {
        EarlyRevocations early = new EarlyRevocations();
        assertThat(early.offer(revoked(7, Long.MAX_VALUE, HASH_A), 100, T0)).isFalse();
        assertThat(early.offer(revoked(7, 103, HASH_A), 100, T0)).isFalse();
        assertThat(early.offer(revoked(7, 5, HASH_A), -1, T0)).as("no head known yet").isFalse();
        assertThat(early.isEmpty()).isTrue();
    }

    @Test
    void everyEntryExpires() {
        EarlyRevocations early = new EarlyRevocations();
        early.offer(revoked(7, 101, HASH_A), 100, T0);
        assertThat(early.settle(0, T0.plus(EarlyRevocations.TTL).minusMillis(1))).isFalse();
        assertThat(early.settle(0, T0.plus(EarlyRevocations.TTL))).isTrue();
        assertThat(early.isEmpty()).isTrue();
    }

    @Test
    void aRemovedLogRetractsOnlyTheRevocationOfItsBlock() {
        EarlyRevocations early = new EarlyRevocations();
        early.offer(revoked(7, 101, HASH_A), 100, T0);
        assertThat(early.retract(BigInteger.valueOf(7), HASH_B)).as("a removed log of another block").isFalse();
        assertThat(early.overlay(active(7)).active()).isFalse();
        assertThat(early.retract(BigInteger.valueOf(7), HASH_A)).isTrue();
        assertThat(early.overlay(active(7)).active()).isTrue();
    }

    @Test
    void anAlreadyRevokedTokenIsLeftAsTheRegistryHasIt() {
        EarlyRevocations early = new EarlyRevocations();
        early.offer(revoked(7, 101, HASH_A), 100, T0);
        TokenRecord revokedAt90 = new TokenRecord(BigInteger.valueOf(7), "node-7", "key", "0xowner", false, 5, "0xowner", 5, -1, 90, null);
        assertThat(early.overlay(revokedAt90)).isSameAs(revokedAt90);
        assertThat(early.offer(revoked(7, 101, HASH_A), 100, T0)).as("the same revocation twice").isFalse();
    }
}
