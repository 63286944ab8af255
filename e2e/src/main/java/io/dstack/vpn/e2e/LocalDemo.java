package io.dstack.vpn.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.StoredPeerSet;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.chain.contract.ContractArtifact;
import io.dstack.vpn.chain.contract.ContractWriter;
import io.dstack.vpn.chain.rpc.RpcClient;
import io.dstack.vpn.chain.rpc.RpcListener;
import io.dstack.vpn.testing.AgentProcess;
import io.dstack.vpn.testing.Anvil;
import io.dstack.vpn.testing.OperatorProcess;
import io.dstack.vpn.testing.RealApiServer;
import io.dstack.vpn.testing.SimulatedNetwork;
import io.dstack.vpn.testing.SimulatedNode;
import io.dstack.vpn.testing.TestResources;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The local demo (hack/demo.sh, `make demo`), told as a story on real components: a real kube-apiserver,
 * anvil with the access NFT contract, the packaged operator, three simulated nodes (network namespaces with
 * wireguard-go) each with its agent, the UDP-over-TCP proxy for the node whose UDP is blocked, and the admin CLI. Access is minted, pinged across, revoked and measured.
 * With --ci it exits when done; otherwise everything keeps running until Ctrl-C, then is removed.
 */
public final class LocalDemo {
    static final String NS = "dstack-demo";
    static final String NET = "demo";
    static final List<String> NODES = List.of("node-a", "node-b", "node-c");
    /** This node's UDP is dropped; it reaches the others over TCP through their proxies. */
    static final String UDP_BLOCKED = "node-c";
    static final int PROXY_PORT = 8443;
    static final ObjectMapper JSON = new ObjectMapper();

    private static final List<AutoCloseable> CLEANUP = new java.util.concurrent.CopyOnWriteArrayList<>();
    private static boolean cleanedUp;

    public static void main(String[] args) {
        // Ctrl-C runs the shutdown hooks: this one removes everything the demo started, in reverse order.
        Runtime.getRuntime().addShutdownHook(new Thread(LocalDemo::cleanUp, "demo-cleanup"));
        int exit = 0;
        try {
            run(List.of(args).contains("--ci"), CLEANUP);
        } catch (Exception e) {
            System.err.println("\ndemo failed: " + e.getMessage());
            e.printStackTrace();
            exit = 1;
        }
        cleanUp();
        System.exit(exit);
    }

    private static synchronized void cleanUp() {
        if (cleanedUp) {
            return;
        }
        cleanedUp = true;
        for (int i = CLEANUP.size() - 1; i >= 0; i--) {
            try {
                CLEANUP.get(i).close();
            } catch (Exception e) {
                System.err.println("cleanup: " + e.getMessage());
            }
        }
        // kube-api-test's output pumps are non-daemon threads: stop the API server explicitly.
        RealApiServer.shutdown();
    }

    private static void run(boolean ci, List<AutoCloseable> cleanup) throws Exception {
        // Registered before anything starts, so a failure or Ctrl-C at any step still removes what exists.
        Path root = RealApiServer.repoRoot();
        say("Starting a real kube-apiserver + etcd and installing the CRDs from crds/ ...");
        RealApiServer api = RealApiServer.get();
        KubernetesClient client = api.client();
        Path kubeconfig = root.resolve(".cache/demo/kubeconfig");
        Files.createDirectories(kubeconfig.getParent());
        Files.copy(api.kubeconfig(), kubeconfig, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();

        say("Starting a local chain (anvil, chain id 8453 like Base) and deploying the access NFT contract ...");
        Anvil anvil = Anvil.start(Anvil.Options.defaults());
        cleanup.add(anvil);
        String contract = new ContractWriter(RpcClient.of(List.of(anvil.rpcUrl()), RpcListener.NONE), Anvil.PRIVATE_KEY_0,
                Anvil.BASE_CHAIN_ID, Duration.ofSeconds(30)).deploy(ContractArtifact.bytecode(root)).contractAddress();
        System.out.println("    contract " + contract + " owned by " + Anvil.ACCOUNT_0);

        say("Starting the operator and a VpnNetwork '" + NET + "' whose members are the NFT holders ...");
        OperatorProcess operator = OperatorProcess.start(api.kubeconfig(), NS);
        cleanup.add(operator);
        var network = TestResources.chainNetwork(NET, "10.66.0.0/24", anvil.rpcUrl(), contract, 1, "200ms");
        network.getSpec().proxy = new io.dstack.vpn.api.v1alpha1.ProxySpec();
        network.getSpec().proxy.enabled = true;
        network.getSpec().proxy.port = PROXY_PORT;
        client.resource(network).inNamespace(NS).create();

        say("Starting three nodes (network namespaces with wireguard-go), each with its agent. node-c sits behind a\n"
                + "    firewall that drops all UDP (nftables): its agent uses transport TCP, through the proxies on port " + PROXY_PORT + " ...");
        SimulatedNetwork net = new SimulatedNetwork();
        cleanup.add(net);
        Path keys = Files.createTempDirectory("dstack-vpn-demo-keys");
        cleanup.add(() -> {
            try (var walk = Files.walk(keys)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        });
        Map<String, SimulatedNode> nodes = new LinkedHashMap<>();
        for (String id : NODES) {
            SimulatedNode node = net.addNode(id.substring(5));
            node.startWireGuard("wg0");
            nodes.put(id, node);
            Map<String, String> env = id.equals(UDP_BLOCKED) ? Map.of("TRANSPORT", "TCP") : Map.of();
            cleanup.add(AgentProcess.start(node, id, NS, NET, keys.resolve(id), env));
        }
        nodes.get(UDP_BLOCKED).blockUdp();
        waitFor(() -> NODES.stream().allMatch(id -> "NoToken".equals(reason(client, id))), 90, "three VpnPeers waiting for a token");
        say("Each agent made its key on its node and published a VpnPeer; they wait for a token:");
        System.out.println(cli(root, anvil, contract, null, "pending", "-n", NS));

        say("The admin mints a token for each node with the CLI (dstack-vpn register) ...");
        Map<String, String> tokens = new LinkedHashMap<>();
        for (String id : NODES) {
            JsonNode reg = JSON.readTree(cli(root, anvil, contract, Anvil.PRIVATE_KEY_0, "register", Anvil.ACCOUNT_1, "--peer", NET + "-" + id,
                    "--vpn-network", NET, "-n", NS, "-o", "json"));
            tokens.put(id, reg.get("tokenId").asText());
            System.out.println("    " + id + ": token " + reg.get("tokenId").asText() + " in block " + reg.get("block").asText());
        }
        anvil.rpc("anvil_mine", "[\"0x1\"]"); // the confirmation the network asks for
        waitFor(() -> NODES.stream().allMatch(id -> applied(client, id)), 90, "every agent applied the peer set");
        System.out.println(kubectl(api, "get", "vpnnetworks,vpnpeers", "-n", NS));

        say("Pings across the overlay, between every pair (node-c's through WireGuard over TCP):");
        for (String from : NODES) {
            for (String to : NODES) {
                if (!from.equals(to)) {
                    var ping = pingWithin(nodes.get(from), address(client, to), 20);
                    System.out.printf("    %s -> %s (%s): %s%n", from, to, address(client, to),
                            ping.success() ? "ok, avg " + ping.avgRttMillis().orElse(-1) + " ms" : "FAILED");
                    if (!ping.success()) {
                        throw new IllegalStateException("ping " + from + " -> " + to + " failed");
                    }
                }
            }
        }

        String keyC = client.resources(VpnPeer.class).inNamespace(NS).withName(NET + "-node-c").get().getSpec().publicKey;
        String addressC = address(client, "node-c");
        say("The admin revokes node-c's token (dstack-vpn revoke " + tokens.get("node-c") + ") ...");
        cli(root, anvil, contract, Anvil.PRIVATE_KEY_0, "revoke", tokens.get("node-c"));
        long mined = System.nanoTime();
        waitFor(() -> peerSet(client).peers().stream().noneMatch(p -> p.nodeId().equals("node-c")), 30, "node-c out of the peer set");
        long rendered = System.nanoTime();
        waitFor(() -> !uapiHas(nodes.get("node-a"), keyC) && !uapiHas(nodes.get("node-b"), keyC), 30, "node-a and node-b dropped node-c");
        long dropped = System.nanoTime();
        boolean cut = !nodes.get("node-a").ping(addressC, 2).success();
        boolean stillTalking = nodes.get("node-a").ping(address(client, "node-b"), 2).success();
        System.out.println(kubectl(api, "get", "vpnpeers", "-n", NS));
        say(String.format("Revocation: %d ms after `dstack-vpn revoke` returned (it waits for the receipt) the peer set no longer had node-c; %d ms after, both other nodes "
                + "had removed it from WireGuard (chain poll 200 ms). Ping node-a -> node-c now: %s; node-a -> node-b: %s.",
                TimeUnit.NANOSECONDS.toMillis(rendered - mined), TimeUnit.NANOSECONDS.toMillis(dropped - mined),
                cut ? "no answer (cut)" : "STILL ANSWERS", stillTalking ? "ok" : "FAILED"));
        if (!cut || !stillTalking) {
            throw new IllegalStateException("revocation did not cut node-c cleanly");
        }
        say("The Helm chart is not in this demo (no cluster here); it is tested against the real API server (ChartIT).");

        if (ci) {
            say("Done (--ci): stopping everything.");
            return;
        }
        say("Everything keeps running. Try:\n    " + api.kubectl() + " --kubeconfig " + kubeconfig + " -n " + NS
                + " get vpnnetworks,vpnpeers\nPress Ctrl-C to stop and clean up.");
        new CountDownLatch(1).await(); // until Ctrl-C: the shutdown hook cleans up
    }

    /** A tunnel through the proxy comes up with the first packets: give it a few tries before calling it failed. */
    private static SimulatedNode.PingResult pingWithin(SimulatedNode from, String address, int seconds) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        SimulatedNode.PingResult ping = from.ping(address, 3);
        while (!ping.success() && System.nanoTime() < deadline) {
            ping = from.ping(address, 3);
        }
        return ping;
    }

    private static String reason(KubernetesClient client, String nodeId) {
        VpnPeer p = client.resources(VpnPeer.class).inNamespace(NS).withName(NET + "-" + nodeId).get();
        return p == null || p.getStatus() == null ? null : p.getStatus().reason;
    }

    private static boolean applied(KubernetesClient client, String nodeId) {
        VpnPeer p = client.resources(VpnPeer.class).inNamespace(NS).withName(NET + "-" + nodeId).get();
        return p != null && p.getStatus() != null && p.getStatus().phase == VpnPeerPhase.Active && p.getStatus().applied != null
                && p.getStatus().applied.generation != null && p.getStatus().applied.generation == peerSet(client).generation();
    }

    private static String address(KubernetesClient client, String nodeId) {
        return client.resources(VpnPeer.class).inNamespace(NS).withName(NET + "-" + nodeId).get().getStatus().address;
    }

    private static PeerSet peerSet(KubernetesClient client) {
        return StoredPeerSet.readWhole(client, NS, NET).orElseThrow(() -> new IllegalStateException("no complete peer set for " + NET));
    }

    /** Whether the node's WireGuard device has a peer with this key (asked over its UAPI socket with `wg`). */
    private static boolean uapiHas(SimulatedNode node, String key) {
        try {
            Process p = new ProcessBuilder("unshare", "--mount", "--propagation", "private", "sh", "-c",
                    "mount --bind \"$0\" /var/run/wireguard && exec wg show wg0 peers", node.uapiSocket("wg0").getParent().toString())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(10, TimeUnit.SECONDS);
            return out.contains(key);
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The admin CLI as a user runs it (its packaged jar), printing its output. */
    private static String cli(Path root, Anvil anvil, String contract, String privateKey, String... args) throws Exception {
        Path jar;
        try (var files = Files.list(root.resolve("cli/target"))) {
            jar = files.filter(f -> f.getFileName().toString().matches("dstack-vpn-cli-.*\\.jar")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("CLI jar missing: build first"));
        }
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("KUBECONFIG", RealApiServer.get().kubeconfig().toString());
        pb.environment().put("DSTACK_RPC_URL", anvil.rpcUrl());
        pb.environment().put("DSTACK_CONTRACT", contract);
        if (privateKey != null) {
            pb.environment().put("PRIVATE_KEY", privateKey); // anvil's public dev key, never a real one
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("dstack-vpn " + String.join(" ", args) + " failed: " + out);
        }
        return out.lines().filter(l -> !l.startsWith("WARNING:")).reduce((a, b) -> a + "\n" + b).orElse("");
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
            Thread.sleep(10);
        }
        throw new IllegalStateException("demo: timed out after " + seconds + " s waiting for " + what);
    }

    private static void say(String line) {
        System.out.println("\n==> " + line);
    }

    private LocalDemo() {
    }
}
