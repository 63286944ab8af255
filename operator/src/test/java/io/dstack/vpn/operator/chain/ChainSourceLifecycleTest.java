package io.dstack.vpn.operator.chain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.dstack.vpn.api.v1alpha1.ChainAccess;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.operator.Fixtures;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * Chain sources stop when their network is deleted (docs/adr/0014-chain-source-lifecycle.md), and only then. Real
 * sources, whose RPC endpoint is a closed local port: each polls in its own thread, which must end with it.
 */
class ChainSourceLifecycleTest {
    final ChainSources sources = new ChainSources();

    @BeforeEach
    void wire() {
        sources.metrics = new ChainMetrics();
        sources.metrics.registry = new SimpleMeterRegistry();
        sources.rpcSettings = new RpcSettings();
        sources.rpcSettings.allow = Optional.of(List.of("127.0.0.1"));
        sources.rpcSettings.deny = Optional.empty();
        sources.rpcSettings.maxBodyBytes = 1 << 20;
        sources.rpcSettings.deadline = Duration.ofSeconds(1);
        // No client: the checkpoint cannot be read (logged, the source starts from fromBlock) and none is written.
    }

    @AfterEach
    void stopAll() {
        sources.shutdown();
    }

    @Test
    void aDeletedNetworksSourceStopsAndTheOthersKeepRunning() {
        VpnNetwork a = chainNetwork("a", "uid-a");
        VpnNetwork b = chainNetwork("b", "uid-b");
        sources.ensure(a);
        sources.ensure(b);
        assertThat(followerThreadRunning("a")).isTrue();

        sources.networkDeleted(a);

        assertThat(sources.health(a)).isEmpty();
        assertThat(sources.health(b)).isPresent();
        await().atMost(Duration.ofSeconds(5)).until(() -> !followerThreadRunning("a"));
        assertThat(followerThreadRunning("b")).isTrue();
    }

    @Test
    void aReconcileStillInFlightWhenItsNetworkWasDeletedStartsNoSource() {
        VpnNetwork a = chainNetwork("a", "uid-a");
        sources.networkDeleted(a);

        sources.ensure(a);

        assertThat(sources.health(a)).isEmpty();
        assertThat(followerThreadRunning("a")).isFalse();
        // A network created again under the same name is another object, with another UID.
        VpnNetwork again = chainNetwork("a", "uid-a2");
        sources.ensure(again);
        assertThat(sources.health(again)).isPresent();
    }

    @Test
    void theLateDeleteOfAnOlderObjectLeavesTheSourceOfTheNetworkCreatedAgain() {
        VpnNetwork old = chainNetwork("a", "uid-a");
        sources.ensure(old);
        VpnNetwork again = chainNetwork("a", "uid-a2");
        sources.ensure(again); // reconciled before the old object's delete event arrived

        sources.networkDeleted(old);

        assertThat(sources.health(again)).isPresent();
        assertThat(followerThreadRunning("a")).isTrue();
    }

    @Test
    void theStartSweepStopsTheSourcesOfNetworksNoLongerListed() {
        VpnNetwork a = chainNetwork("a", "uid-a");
        VpnNetwork b = chainNetwork("b", "uid-b");
        sources.ensure(a);
        sources.ensure(b);

        sources.retainOnly(Set.of(ResourceID.fromResource(b)));

        assertThat(sources.health(a)).isEmpty();
        assertThat(sources.health(b)).isPresent();
    }

    @Test
    void aNetworkThatLeavesTheChainSourceStopsItsFollower() {
        VpnNetwork a = chainNetwork("a", "uid-a");
        sources.ensure(a);
        a.getSpec().access.chain = null;

        sources.ensure(a);

        assertThat(sources.health(a)).isEmpty();
        await().atMost(Duration.ofSeconds(5)).until(() -> !followerThreadRunning("a"));
    }

    static VpnNetwork chainNetwork(String name, String uid) {
        VpnNetwork n = Fixtures.devNetwork();
        n.getMetadata().setName(name);
        n.getMetadata().setUid(uid);
        n.getSpec().access.devAllowList = null;
        ChainAccess chain = new ChainAccess();
        chain.chainId = 8453L;
        chain.rpcUrls = List.of("http://127.0.0.1:9/");
        chain.contractAddress = "0x" + "11".repeat(20);
        chain.fromBlock = 0L;
        chain.pollInterval = "1h";
        n.getSpec().access.chain = chain;
        return n;
    }

    private static boolean followerThreadRunning(String network) {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.isAlive() && t.getName().equals("chain-follower-ns/" + network));
    }
}
