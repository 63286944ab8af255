package io.dstack.vpn.operator.it;

import static org.awaitility.Awaitility.await;

import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.api.peerset.StoredPeerSet;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.chain.contract.ContractArtifact;
import io.dstack.vpn.chain.contract.ContractWriter;
import io.dstack.vpn.chain.rpc.RpcClient;
import io.dstack.vpn.chain.rpc.RpcListener;
import io.dstack.vpn.testing.Anvil;
import io.dstack.vpn.testing.OperatorProcess;
import io.dstack.vpn.testing.RealApiServer;
import io.dstack.vpn.testing.TestResources;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * Revocation latency of the control plane, end to end on real components: anvil with our contract, the
 * packaged operator, the real API server. Not a CI test (the name matches neither *Test nor *IT): run
 * {@code hack/bench-revocation.sh}. Prints p50/p99 over the samples for each poll interval.
 */
class RevocationBenchmark {
    static final int SAMPLES = Integer.getInteger("bench.samples", 25);

    @Test
    void revocationLatency() throws Exception {
        for (String poll : System.getProperty("bench.polls", "100ms,1s").split(",")) {
            run(poll.strip());
        }
    }

    void run(String pollInterval) throws Exception {
        String ns = "bench-" + pollInterval.toLowerCase(Locale.ROOT);
        long pollMillis = pollInterval.endsWith("ms") ? Long.parseLong(pollInterval.replace("ms", ""))
                : Long.parseLong(pollInterval.replace("s", "")) * 1000;
        try (Anvil anvil = Anvil.start(Anvil.Options.defaults())) {
            RpcClient rpc = RpcClient.of(List.of(anvil.rpcUrl()), RpcListener.NONE);
            ContractWriter admin = new ContractWriter(rpc, Anvil.PRIVATE_KEY_0, Anvil.BASE_CHAIN_ID, Duration.ofSeconds(30));
            String bytecode = ContractArtifact.bytecode(RealApiServer.repoRoot());
            String contract = admin.deploy(bytecode).contractAddress();
            KubernetesClient client = RealApiServer.get().client();
            client.resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).serverSideApply();
            try (OperatorProcess operator = OperatorProcess.start(RealApiServer.get().kubeconfig(), ns)) {
                VpnNetwork net = TestResources.chainNetwork("bench", "10.90.0.0/24", anvil.rpcUrl(), contract, 1, pollInterval);
                client.resource(net).inNamespace(ns).create();
                List<BigInteger> tokens = new ArrayList<>();
                for (int i = 0; i < SAMPLES; i++) {
                    String key = WireGuardKey.generatePrivate().publicKey().toBase64();
                    VpnPeer p = TestResources.peer("n-" + i, "bench", "n-" + i, key);
                    client.resource(p).inNamespace(ns).create();
                    tokens.add(admin.mint(contract, Anvil.ACCOUNT_1, "n-" + i, key, "").mintedTokenId());
                }
                await().atMost(Duration.ofMinutes(2)).until(() -> client.resources(VpnPeer.class).inNamespace(ns).list().getItems().stream()
                        .filter(p -> p.getStatus() != null && p.getStatus().phase == VpnPeerPhase.Active).count() == SAMPLES);

                List<Double> toPeerSet = new ArrayList<>();
                List<Double> toStatus = new ArrayList<>();
                List<Double> fromSubmit = new ArrayList<>();
                for (int i = 0; i < SAMPLES; i++) {
                    String node = "n-" + i;
                    // Uniform over two poll intervals: the revoke lands at a random phase of the follower's poll.
                    Thread.sleep(20 + (long) (Math.random() * 2 * pollMillis));
                    long submit = System.nanoTime();
                    admin.revoke(contract, tokens.get(i));
                    long mined = System.nanoTime(); // receipt seen (2 ms first look on an automining chain)
                    long setAt = 0;
                    long statusAt = 0;
                    long deadline = mined + Duration.ofSeconds(30).toNanos();
                    while ((setAt == 0 || statusAt == 0) && System.nanoTime() < deadline) {
                        if (setAt == 0) {
                            var set = StoredPeerSet.readWhole(client, ns, "bench");
                            if (set.isPresent() && set.get().peers().stream().noneMatch(p -> p.nodeId().equals(node))) {
                                setAt = System.nanoTime();
                            }
                        }
                        if (statusAt == 0) {
                            VpnPeer p = client.resources(VpnPeer.class).inNamespace(ns).withName(node).get();
                            if (p.getStatus().phase == VpnPeerPhase.Revoked) {
                                statusAt = System.nanoTime();
                            }
                        }
                        Thread.sleep(5);
                    }
                    toPeerSet.add((setAt - mined) / 1e6);
                    toStatus.add((statusAt - mined) / 1e6);
                    fromSubmit.add((statusAt - submit) / 1e6);
                }
                System.out.printf(Locale.ROOT, "%n## revocation, poll %s, %d samples (ms)%n", pollInterval, SAMPLES);
                System.out.printf(Locale.ROOT, "| from | to | p50 | p99 (max) | min |%n|---|---|---|---|---|%n");
                row("receipt seen (block mined)", "peer set without the node", toPeerSet);
                row("receipt seen (block mined)", "VpnPeer status Revoked", toStatus);
                row("revoke submitted (nonce, gas estimate, send)", "VpnPeer status Revoked", fromSubmit);
            }
        }
    }

    static void row(String from, String to, List<Double> ms) {
        List<Double> s = new ArrayList<>(ms);
        Collections.sort(s);
        double p50 = s.get(s.size() / 2);
        double p99 = s.get(Math.min(s.size() - 1, (int) Math.ceil(s.size() * 0.99) - 1));
        System.out.printf(Locale.ROOT, "| %s | %s | %.0f | %.0f | %.0f |%n", from, to, p50, p99, s.get(0));
    }
}
