package io.dstack.vpn.operator.it;

import io.dstack.vpn.testing.OperatorProcess;
import io.dstack.vpn.testing.RealApiServer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.peerset.StoredPeerSet;
import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.v1alpha1.DevAllowList;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The packaged operator against the real API server: a dev network with three peers becomes Ready with
 * distinct addresses; a restart keeps every address and rewrites nothing; a full pool is reported; removing
 * a node from the access source removes it from the peer set.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OperatorIT {
    /** A wait that gives up shows what the operator was doing: its threads and the end of its log. */
    @org.junit.jupiter.api.extension.RegisterExtension
    static final org.junit.jupiter.api.extension.TestWatcher DUMP_ON_FAILURE = new org.junit.jupiter.api.extension.TestWatcher() {
        @Override
        public void testFailed(org.junit.jupiter.api.extension.ExtensionContext context, Throwable cause) {
            try {
                if (operator != null) {
                    System.out.println("operator threads and log after " + context.getDisplayName() + " failed:\n"
                            + operator.threadDumpAndLogTail(600));
                }
            } catch (Exception e) {
                System.out.println("no thread dump: " + e);
            }
        }
    };

    static final String NS = "operator-it";
    static final Duration WAIT = Duration.ofSeconds(60);
    static KubernetesClient client;
    static OperatorProcess operator;

    @BeforeAll
    static void start() throws Exception {
        RealApiServer api = RealApiServer.get();
        client = api.client();
        client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();
        operator = OperatorProcess.start(api.kubeconfig(), NS);
    }

    @AfterAll
    static void stop() {
        if (operator != null) {
            operator.close();
        }
    }

    static void applySample(String file) throws Exception {
        try (InputStream in = Files.newInputStream(RealApiServer.repoRoot().resolve("config/samples").resolve(file))) {
            for (HasMetadata item : client.load(in).items()) {
                client.resource(item).inNamespace(NS).serverSideApply();
            }
        }
    }

    /**
     * Changes the spec as a GitOps tool would: server-side apply of the whole spec under the test's own field
     * manager, with no lock on the resourceVersion that the operator's status writes keep moving.
     */
    static void editNetwork(String name, java.util.function.Consumer<VpnNetwork> change) {
        VpnNetwork n = network(name);
        change.accept(n);
        n.getMetadata().setResourceVersion(null);
        n.getMetadata().setManagedFields(null);
        n.setStatus(null);
        client.resource(n).inNamespace(NS).fieldManager("operator-it").forceConflicts().serverSideApply();
    }

    static VpnNetwork network(String name) {
        return client.resources(VpnNetwork.class).inNamespace(NS).withName(name).get();
    }

    static List<VpnPeer> peersOf(String network) {
        return client.resources(VpnPeer.class).inNamespace(NS).list().getItems().stream()
                .filter(p -> network.equals(p.getSpec().network)).toList();
    }

    static boolean conditionIs(VpnNetwork n, String type, String status) {
        return n != null && n.getStatus() != null && n.getStatus().conditions != null
                && n.getStatus().conditions.stream().anyMatch(c -> type.equals(c.getType()) && status.equals(c.getStatus()));
    }

    static Map<String, String> addresses(String network) {
        Map<String, String> m = new TreeMap<>();
        peersOf(network).forEach(p -> m.put(p.getMetadata().getName(), p.getStatus() == null ? null : p.getStatus().address));
        return m;
    }

    static ConfigMap peerSetConfigMap(String network) {
        return client.configMaps().inNamespace(NS).withName(PeerSetCodec.configMapName(network)).get();
    }

    /** Every peer-set object of the network (index and shards), by name. */
    static Map<String, ConfigMap> peerSetObjects(String network) {
        Map<String, ConfigMap> m = new TreeMap<>();
        StoredPeerSet.objects(client, NS, network).forEach(cm -> m.put(cm.getMetadata().getName(), cm));
        return m;
    }

    /** The whole peer set as an agent assembles it; fails when it is not stored or not complete. */
    static PeerSet peerSet(String network) {
        return StoredPeerSet.readWhole(client, NS, network).orElseThrow(() -> new AssertionError("no complete peer set for " + network));
    }

    @Test
    @Order(1)
    void threePeersBecomeActiveWithDistinctAddresses() throws Exception {
        applySample("vpnnetwork-dev.yaml");
        applySample("vpnpeers-dev.yaml");

        await().atMost(WAIT).untilAsserted(() -> {
            VpnNetwork n = network("dev");
            assertThat(conditionIs(n, Conditions.READY, "True")).as("Ready; status: %s", n.getStatus()).isTrue();
            assertThat(n.getStatus().peers.active).isEqualTo(3);
            assertThat(peersOf("dev")).allSatisfy(p -> {
                assertThat(p.getStatus().phase).isEqualTo(VpnPeerPhase.Active);
                assertThat(p.getStatus().address).startsWith("10.100.0.");
            });
        });
        Map<String, String> addrs = addresses("dev");
        assertThat(new HashSet<>(addrs.values())).hasSize(3);

        PeerSet set = peerSet("dev");
        assertThat(set.peers()).extracting(PeerSet.Peer::nodeId).containsExactly("node-a", "node-b", "node-c");
        assertThat(peerSetObjects("dev")).containsOnlyKeys("dev-peerset", "dev-peerset-0-of-1");
        assertThat(set.peers()).extracting(PeerSet.Peer::address).containsExactlyInAnyOrderElementsOf(addrs.values());
        await().atMost(WAIT).untilAsserted(() -> assertThat(network("dev").getStatus().peerSet.generation).isEqualTo(set.generation()));

        // Events are recorded right after the writes they describe.
        await().atMost(WAIT).untilAsserted(() -> {
            var events = client.v1().events().inNamespace(NS).list().getItems();
            assertThat(events).anySatisfy(e -> assertThat(e.getReason()).isEqualTo("AccessGranted"));
            assertThat(events).anySatisfy(e -> assertThat(e.getReason()).isEqualTo("PeerAdded"));
        });
    }

    @Test
    @Order(2)
    void kubectlGetTellsTheStory() throws Exception {
        Process p = new ProcessBuilder(RealApiServer.get().kubectl().toString(), "--kubeconfig",
                RealApiServer.get().kubeconfig().toString(), "-n", NS, "get", "vpnnetworks,vpnpeers")
                .redirectErrorStream(true).start();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        System.out.println("kubectl get vpnnetworks,vpnpeers:\n" + out);
        assertThat(out).containsPattern("NAME\\s+CIDR\\s+ACTIVE\\s+PEERS\\s+READY\\s+AGE");
        assertThat(out).containsPattern("vpnnetwork.vpn.dstack.io/dev\\s+10\\.100\\.0\\.0/24\\s+3\\s+3\\s+True");
        assertThat(out).containsPattern("NAME\\s+NETWORK\\s+NODE\\s+PHASE\\s+ADDRESS\\s+AGE");
        assertThat(out).containsPattern("vpnpeer.vpn.dstack.io/node-a\\s+dev\\s+node-a\\s+Active\\s+10\\.100\\.0\\.\\d+");
    }

    @Test
    @Order(3)
    void restartKeepsAddressesAndRewritesNothing() throws Exception {
        Map<String, String> before = addresses("dev");
        long generationBefore = network("dev").getStatus().peerSet.generation;

        assertThat(operator.stop()).as("operator exits on SIGTERM without needing SIGKILL").isTrue();
        operator = OperatorProcess.start(RealApiServer.get().kubeconfig(), NS);

        // A peer added after the restart proves the new process reconciles, and must not take a used address.
        String keyD = WireGuardKey.generatePrivate().publicKey().toBase64();
        editNetwork("dev", dev -> {
            dev.getSpec().access.devAllowList.nodes = new java.util.ArrayList<>(dev.getSpec().access.devAllowList.nodes);
            dev.getSpec().access.devAllowList.nodes.add(new DevAllowList.AllowedNode("node-d", keyD));
        });
        VpnPeer d = new VpnPeer();
        d.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName("node-d").build());
        d.setSpec(new io.dstack.vpn.api.v1alpha1.VpnPeerSpec());
        d.getSpec().network = "dev";
        d.getSpec().nodeId = "node-d";
        d.getSpec().publicKey = keyD;
        client.resource(d).inNamespace(NS).create();

        await().atMost(WAIT).untilAsserted(() -> assertThat(addresses("dev").get("node-d")).isNotNull());
        Map<String, String> after = addresses("dev");
        assertThat(after).containsAllEntriesOf(before);
        assertThat(new HashSet<>(after.values())).hasSize(4);
        // The status follows the ConfigMap write of the same reconcile: wait for it.
        await().atMost(WAIT).untilAsserted(() -> assertThat(network("dev").getStatus().peerSet.generation).isEqualTo(generationBefore + 1));
        assertThat(operator.log()).as("no reconcile errors").doesNotContainPattern("ERROR\\s+\\[io\\.(ds|ja)");
    }

    @Test
    @Order(4)
    void restartWithoutChangesDoesNotTouchThePeerSet() throws Exception {
        await().atMost(WAIT).until(() -> conditionIs(network("dev"), Conditions.READY, "True"));
        Map<String, String> rvs = resourceVersions(peerSetObjects("dev"));
        String networkRv = network("dev").getMetadata().getResourceVersion();
        Map<String, String> before = addresses("dev");

        assertThat(operator.stop()).isTrue();
        operator = OperatorProcess.start(RealApiServer.get().kubeconfig(), NS);
        // The gauge appears once the new process has reconciled the network: only then is "nothing was
        // rewritten" a finding rather than a race.
        await().atMost(WAIT).until(() -> operator.get("/q/metrics").contains("dstack_vpn_peerset_generation{namespace=\"" + NS + "\",network=\"dev\"}"));

        assertThat(resourceVersions(peerSetObjects("dev"))).as("peer-set ConfigMaps rewritten").isEqualTo(rvs);
        assertThat(network("dev").getMetadata().getResourceVersion()).as("network status rewritten").isEqualTo(networkRv);
        assertThat(addresses("dev")).isEqualTo(before);
    }

    @Test
    @Order(5)
    void aLostPeerSetIsRebuiltWithTheSameAddresses() {
        Map<String, String> before = addresses("dev");
        long generation = network("dev").getStatus().peerSet.generation;
        String uid = peerSetConfigMap("dev").getMetadata().getUid();
        peerSetObjects("dev").values().forEach(cm -> client.resource(cm).delete());
        await().atMost(WAIT).untilAsserted(() -> {
            ConfigMap cm = peerSetConfigMap("dev");
            assertThat(cm).isNotNull();
            assertThat(cm.getMetadata().getUid()).isNotEqualTo(uid);
            StoredPeerSet stored = StoredPeerSet.read(client, NS, "dev").orElseThrow();
            assertThat(stored.complete()).isTrue();
            assertThat(stored.allocations()).isEqualTo(before);
            // Generations never go backwards, or agents that applied the old one would think they are ahead.
            long rebuilt = stored.whole().generation();
            assertThat(rebuilt).isGreaterThan(generation);
            assertThat(network("dev").getStatus().peerSet.generation).isEqualTo(rebuilt);
        });
        assertThat(addresses("dev")).isEqualTo(before);
    }

    @Test
    @Order(6)
    void removingANodeFromTheSourceDropsItFromThePeerSet() {
        long gen = peerSet("dev").generation();
        editNetwork("dev", dev -> dev.getSpec().access.devAllowList.nodes = dev.getSpec().access.devAllowList.nodes.stream()
                .filter(n -> !n.nodeId.equals("node-c")).toList());

        await().atMost(WAIT).untilAsserted(() -> {
            VpnPeer c = client.resources(VpnPeer.class).inNamespace(NS).withName("node-c").get();
            assertThat(c.getStatus().phase).isEqualTo(VpnPeerPhase.Pending);
            assertThat(c.getStatus().reason).isEqualTo("NotInAllowList");
            PeerSet set = peerSet("dev");
            assertThat(set.peers()).extracting(PeerSet.Peer::nodeId).doesNotContain("node-c");
            assertThat(set.generation()).isEqualTo(gen + 1);
        });
        // The address stays reserved for node-c, so a re-grant gives it back the same one.
        assertThat(addresses("dev").get("node-c")).isNotNull();
    }

    @Test
    @Order(7)
    void fullPoolIsReportedAsACondition() {
        String[] keys = {WireGuardKey.generatePrivate().publicKey().toBase64(), WireGuardKey.generatePrivate().publicKey().toBase64(),
                WireGuardKey.generatePrivate().publicKey().toBase64()};
        VpnNetwork small = new VpnNetwork();
        small.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName("small").build());
        small.setSpec(new io.dstack.vpn.api.v1alpha1.VpnNetworkSpec());
        small.getSpec().cidr = "10.200.0.0/30";
        small.getSpec().access = new io.dstack.vpn.api.v1alpha1.AccessSource();
        small.getSpec().access.devAllowList = new DevAllowList();
        small.getSpec().access.devAllowList.nodes = List.of(new DevAllowList.AllowedNode("s-1", keys[0]),
                new DevAllowList.AllowedNode("s-2", keys[1]), new DevAllowList.AllowedNode("s-3", keys[2]));
        client.resource(small).inNamespace(NS).create();
        for (int i = 0; i < 3; i++) {
            VpnPeer p = new VpnPeer();
            p.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName("s-" + (i + 1)).build());
            p.setSpec(new io.dstack.vpn.api.v1alpha1.VpnPeerSpec());
            p.getSpec().network = "small";
            p.getSpec().nodeId = "s-" + (i + 1);
            p.getSpec().publicKey = keys[i];
            client.resource(p).inNamespace(NS).create();
        }
        await().atMost(WAIT).untilAsserted(() -> {
            VpnNetwork n = network("small");
            assertThat(conditionIs(n, Conditions.ADDRESS_POOL_AVAILABLE, "False")).as("status %s", n.getStatus()).isTrue();
            assertThat(conditionIs(n, Conditions.READY, "False")).isTrue();
            assertThat(n.getStatus().addresses.capacity).isEqualTo(2);
            assertThat(n.getStatus().addresses.allocated).isEqualTo(2);
            assertThat(addresses("small").values().stream().filter(a -> a != null).count()).isEqualTo(2);
        });
        var pool = network("small").getStatus().conditions.stream()
                .filter(c -> c.getType().equals(Conditions.ADDRESS_POOL_AVAILABLE)).findFirst().orElseThrow();
        assertThat(pool.getReason()).isEqualTo("AddressPoolExhausted");
        assertThat(pool.getMessage()).contains("10.200.0.0/30").contains("exhausted");
        assertThat(client.v1().events().inNamespace(NS).list().getItems())
                .anySatisfy(e -> assertThat(e.getReason()).isEqualTo("AddressPoolExhausted"));
    }

    @Test
    @Order(8)
    void metricsAndHealthAreServed() throws Exception {
        assertThat(operator.get("/q/health/live")).startsWith("200");
        String metrics = operator.get("/q/metrics");
        assertThat(metrics).startsWith("200");
        assertThat(metrics).contains("dstack_vpn_peers{").contains("dstack_vpn_peerset_generation{");
    }

    /**
     * Network reconciles run in the reconcile executor's priority lane (issue 16 §3). The lane is chosen from JOSDK's
     * task description; this fails if a JOSDK upgrade changes it and every reconcile falls into the general lane.
     */
    @Test
    @Order(9)
    void networkReconcilesRunInThePriorityLane() throws Exception {
        String metrics = operator.get("/q/metrics");
        String lanes = String.join("\n", metrics.lines().filter(l -> l.contains("reconciles_")).toList());
        assertThat(laneCount(metrics, "priority")).as("network reconciles in the priority lane:\n%s", lanes).isGreaterThan(0);
        assertThat(laneCount(metrics, "general")).as("peer reconciles in the general lane").isGreaterThan(0);
    }

    /** Leader election is configured through the same single customizer as the lanes: the operator holds its Lease. */
    @Test
    @Order(10)
    void theOperatorHoldsItsLeaderLease() {
        await().atMost(WAIT).untilAsserted(() -> {
            var lease = RealApiServer.get().client().leases().inNamespace(NS).withName("dstack-vpn-operator").get();
            assertThat(lease).as("the leader Lease").isNotNull();
            assertThat(lease.getSpec().getHolderIdentity()).isNotBlank();
        });
    }

    /**
     * A network whose peer set the operator wrote before sharding: one {@code <network>-peerset} with the whole set
     * and the IPAM record. The operator lays it out as an index and shards, keeps every address the record holds
     * (not the lowest free ones), drops no peer and never lowers the generation.
     */
    @Test
    @Order(11)
    void aPeerSetWrittenBeforeShardingIsMigratedWithNoPeerLostOrRenumbered() throws Exception {
        String keyA = WireGuardKey.generatePrivate().publicKey().toBase64();
        String keyB = WireGuardKey.generatePrivate().publicKey().toBase64();
        PeerSet old = new PeerSet("old", 4, "10.77.0.0/24", 51820, 1420, "Mesh", null, null, List.of(
                new PeerSet.Peer("old-a", keyA, "10.77.0.17", null, "UDP", null),
                new PeerSet.Peer("old-b", keyB, "10.77.0.42", null, "UDP", null)));
        // Written as the operator of the layout before sharding wrote it: its field manager, its labels.
        client.resource(new io.fabric8.kubernetes.api.model.ConfigMapBuilder().withNewMetadata().withName("old-peerset").withNamespace(NS)
                .addToLabels(VpnLabels.NETWORK, "old").addToLabels(VpnLabels.COMPONENT, VpnLabels.COMPONENT_PEERSET).endMetadata()
                .addToData(PeerSetCodec.PEERS_KEY, PeerSetCodec.encode(old))
                .addToData(PeerSetCodec.ALLOCATIONS_KEY, PeerSetCodec.encodeAllocations(Map.of("old-a", "10.77.0.17", "old-b", "10.77.0.42")))
                .build()).inNamespace(NS).fieldManager(io.dstack.vpn.operator.network.VpnNetworkReconciler.NAME).serverSideApply();
        // The peers exist before the network, as they did under the old operator: a peer missing from the first pass
        // would give up its recorded address (a deleted VpnPeer frees its address, whatever the layout).
        for (String node : List.of("old-a", "old-b")) {
            VpnPeer p = new VpnPeer();
            p.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName(node).build());
            p.setSpec(new io.dstack.vpn.api.v1alpha1.VpnPeerSpec());
            p.getSpec().network = "old";
            p.getSpec().nodeId = node;
            p.getSpec().publicKey = node.equals("old-a") ? keyA : keyB;
            client.resource(p).inNamespace(NS).create();
        }
        VpnNetwork n = new VpnNetwork();
        n.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName("old").build());
        n.setSpec(new io.dstack.vpn.api.v1alpha1.VpnNetworkSpec());
        n.getSpec().cidr = "10.77.0.0/24";
        n.getSpec().access = new io.dstack.vpn.api.v1alpha1.AccessSource();
        n.getSpec().access.devAllowList = new DevAllowList();
        n.getSpec().access.devAllowList.nodes = List.of(new DevAllowList.AllowedNode("old-a", keyA), new DevAllowList.AllowedNode("old-b", keyB));
        client.resource(n).inNamespace(NS).create();

        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(peerSetObjects("old")).containsOnlyKeys("old-peerset", "old-peerset-0-of-1");
            assertThat(peerSetConfigMap("old").getData()).as("the whole set moved out of the index").containsOnlyKeys(PeerSetCodec.INDEX_KEY);
            PeerSet migrated = peerSet("old");
            assertThat(migrated.peers()).extracting(PeerSet.Peer::nodeId, PeerSet.Peer::address)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("old-a", "10.77.0.17"), org.assertj.core.groups.Tuple.tuple("old-b", "10.77.0.42"));
            assertThat(migrated.generation()).isGreaterThanOrEqualTo(4);
            assertThat(addresses("old")).isEqualTo(Map.of("old-a", "10.77.0.17", "old-b", "10.77.0.42"));
        });
    }

    private static Map<String, String> resourceVersions(Map<String, ConfigMap> objects) {
        Map<String, String> m = new TreeMap<>();
        objects.forEach((name, cm) -> m.put(name, cm.getMetadata().getResourceVersion()));
        return m;
    }

    static double laneCount(String metrics, String lane) {
        return metrics.lines().filter(l -> l.startsWith("dstack_vpn_operator_reconciles_submitted_total{") && l.contains("lane=\"" + lane + "\""))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }
}
