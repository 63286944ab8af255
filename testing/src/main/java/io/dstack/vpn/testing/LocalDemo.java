package io.dstack.vpn.testing;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The local demo (hack/demo.sh): a real API server, the packaged operator and the dev samples, told as a
 * story. Interim version until the agent, chain and proxy land: it shows admission, addressing and the
 * rendered peer set, then removes one node from the access source and measures how fast the peer set drops
 * it. With --ci it exits when done; otherwise it keeps everything running until Ctrl-C.
 */
public final class LocalDemo {
    static final String NS = "dstack-demo";

    public static void main(String[] args) {
        int exit = 0;
        try {
            run(List.of(args).contains("--ci"));
        } catch (Exception e) {
            System.err.println("\ndemo failed: " + e.getMessage());
            e.printStackTrace();
            exit = 1;
        } finally {
            // kube-api-test's output pumps are non-daemon threads: stop explicitly, then exit.
            RealApiServer.shutdown();
        }
        System.exit(exit);
    }

    private static void run(boolean ci) throws Exception {
        say("Starting a real kube-apiserver + etcd (binaries in ~/.kubeapitest) and installing the CRDs from crds/ ...");
        RealApiServer api = RealApiServer.get();
        KubernetesClient client = api.client();
        Path kubeconfig = Path.of(System.getProperty("dstack.repo.root", ".")).resolve(".cache/demo/kubeconfig");
        Files.createDirectories(kubeconfig.getParent());
        Files.copy(api.kubeconfig(), kubeconfig, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();

        say("Starting the operator (operator/target/quarkus-app) as its own process ...");
        try (OperatorProcess operator = OperatorProcess.start(api.kubeconfig(), NS)) {
            say("Applying config/samples/vpnnetwork-dev.yaml and vpnpeers-dev.yaml: a dev network whose allow-list admits node-a, node-b and node-c.");
            apply(client, "vpnnetwork-dev.yaml");
            apply(client, "vpnpeers-dev.yaml");
            waitFor(() -> activePeers(client) == 3, 60, "three Active peers");
            say("All three peers are Active with their own overlay address:");
            System.out.println(kubectl(api, "get", "vpnnetworks,vpnpeers", "-n", NS));
            PeerSet set = peerSet(client);
            say("The rendered peer set (ConfigMap " + PeerSetCodec.configMapName("dev") + ", generation " + set.generation()
                    + ") lists " + set.peers().size() + " peers; each node's agent applies it.");

            say("Revoking node-c: removing it from the network's access source ...");
            long t0 = System.nanoTime();
            VpnNetwork dev = client.resources(VpnNetwork.class).inNamespace(NS).withName("dev").get();
            List<Object> kept = new ArrayList<>();
            dev.getSpec().access.devAllowList.nodes.stream().filter(n -> !"node-c".equals(n.nodeId))
                    .forEach(n -> kept.add(java.util.Map.of("nodeId", n.nodeId, "publicKey", n.publicKey)));
            // A merge patch like `kubectl patch --type merge`: no lock on the version the operator's status writes move.
            client.resources(VpnNetwork.class).inNamespace(NS).withName("dev").patch(
                    io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
                    client.getKubernetesSerialization().asJson(java.util.Map.of("spec", java.util.Map.of("access",
                            java.util.Map.of("devAllowList", java.util.Map.of("nodes", kept))))));
            waitFor(() -> peerSet(client).peers().stream().noneMatch(p -> "node-c".equals(p.nodeId())), 30, "node-c out of the peer set");
            long renderedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            waitFor(() -> phase(client, "node-c") == VpnPeerPhase.Pending, 30, "node-c reported Pending");
            long statusMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            System.out.println(kubectl(api, "get", "vpnpeers", "-n", NS));
            say("node-c left the peer set " + renderedMs + " ms after the change (its status said so after " + statusMs
                    + " ms); peer set generation is now " + peerSet(client).generation() + ".");
            say("Not in this demo yet: WireGuard data plane, NFT minting on anvil, the UDP-over-TCP proxy (later issues).");

            if (ci) {
                say("Done (--ci): stopping the operator and the API server.");
                return;
            }
            say("Everything keeps running. Try:\n    " + api.kubectl() + " --kubeconfig " + kubeconfig + " -n " + NS
                    + " get vpnnetworks,vpnpeers\nPress Ctrl-C to stop and clean up.");
            new CountDownLatch(1).await();
        }
    }

    private static void apply(KubernetesClient client, String sample) throws Exception {
        Path file = Path.of(System.getProperty("dstack.repo.root", ".")).resolve("config/samples").resolve(sample);
        try (InputStream in = Files.newInputStream(file)) {
            for (HasMetadata item : client.load(in).items()) {
                client.resource(item).inNamespace(NS).serverSideApply();
            }
        }
    }

    private static long activePeers(KubernetesClient client) {
        return client.resources(VpnPeer.class).inNamespace(NS).list().getItems().stream()
                .filter(p -> p.getStatus() != null && p.getStatus().phase == VpnPeerPhase.Active && p.getStatus().address != null)
                .count();
    }

    private static VpnPeerPhase phase(KubernetesClient client, String peer) {
        VpnPeer p = client.resources(VpnPeer.class).inNamespace(NS).withName(peer).get();
        return p == null || p.getStatus() == null ? null : p.getStatus().phase;
    }

    private static PeerSet peerSet(KubernetesClient client) {
        var cm = client.configMaps().inNamespace(NS).withName(PeerSetCodec.configMapName("dev")).get();
        return PeerSetCodec.decode(cm.getData().get(PeerSetCodec.PEERS_KEY));
    }

    private static String kubectl(RealApiServer api, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(api.kubectl().toString(), "--kubeconfig", api.kubeconfig().toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(30, TimeUnit.SECONDS);
        return out;
    }

    interface Check {
        boolean ok() throws Exception;
    }

    private static void waitFor(Check check, int seconds, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            try {
                if (check.ok()) {
                    return;
                }
            } catch (RuntimeException notYet) {
                // object not there yet
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException("demo: timed out after " + seconds + " s waiting for " + what);
    }

    private static void say(String line) {
        System.out.println("\n==> " + line);
    }

    private LocalDemo() {
    }
}
