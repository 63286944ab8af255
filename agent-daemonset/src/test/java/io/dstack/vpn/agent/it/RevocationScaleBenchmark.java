package io.dstack.vpn.agent.it;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.web3j.crypto.Credentials;
import org.web3j.crypto.RawTransaction;
import org.web3j.crypto.TransactionEncoder;
import org.web3j.utils.Numeric;

import com.fasterxml.jackson.databind.JsonNode;

import io.dstack.vpn.agent.uapi.UapiClient;
import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.StoredPeerSet;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.chain.contract.AccessContract;
import io.dstack.vpn.chain.contract.AccessEvent;
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
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;

/**
 * Whole-system revocation latency (issue 8): from the block that carries a revoke to "the revoked node is gone
 * from every other node's WireGuard device", on anvil with real block times (the revoke waits in the mempool for
 * the next block), the packaged operator following the chain, the real API server and one agent process per node.
 *
 * <ul>
 * <li>Real nodes ({@code bench.real}, default 3,10): network namespaces with wireguard-go each; the cut is seen by
 * polling every other node's UAPI state ({@code get=1}) in a loop (a few ms per round).</li>
 * <li>Fake backend ({@code bench.memory}, default 100): agents with {@code WG_BACKEND=memory} (no device at all),
 * each its own small JVM; the cut time is what each agent's memory device logged when it removed the key.</li>
 * <li>Fake backend, in one JVM ({@code bench.memoryInJvm}, default 100): as many {@code Agent} instances in this JVM, each
 * with its own API client and memory device (read directly): the same load on the API server and the operator, without
 * a hundred JVMs competing for two cores.</li>
 * </ul>
 *
 * Per sample: a random pause, then the revoke is signed, sent ({@code t_submit}), its receipt polled every 5 ms
 * ({@code t_mined}: the block is there), then the last node's removal ({@code t_cut}). The benchmark also watches
 * the peer-set ConfigMap ({@code t_peerset}: the operator's part ends there). Then the node is granted again (a
 * new token for the same key) and the benchmark waits until every node has it back. Not a CI test (the name
 * matches neither *Test nor *IT): run {@code hack/bench-revocation-scale.sh}. Needs root and the tools of
 * {@code hack/bootstrap.sh}.
 */
class RevocationScaleBenchmark {
    static final int SAMPLES = Integer.getInteger("bench.samples", 20);
    static final String POLL = System.getProperty("bench.poll", "100ms");
    /** anvil's block time in seconds; fractions allowed (0.2 = 200 ms blocks). */
    static final Duration BLOCK_TIME = Duration.ofMillis(Math.round(Double.parseDouble(System.getProperty("bench.blockTime", "2")) * 1000));
    /** How the operator learns of blocks: polling (HTTP only) and/or subscription (a ws:// URL besides the HTTP one). */
    static final List<String> MODES = list("bench.modes", "polling");
    /** VpnPeer status writes fired at every revocation (issue 16: a revocation must not wait behind such a burst). */
    static final int BURST = Integer.getInteger("bench.burst", 0);
    /** How long the operator's RPC calls are counted at idle before the samples; 0 skips it. */
    static final Duration IDLE_WINDOW = Duration.ofSeconds(Long.getLong("bench.idleSeconds", 60));
    static final String NET = "bench";
    static final Duration CUT_TIMEOUT = Duration.ofSeconds(30);
    static final Duration WAIT = Duration.ofSeconds(120);
    static final Pattern MEMORY_LINE = Pattern.compile("memory-device: (added|removed) peer (\\S+) at epoch-us (\\d+)");
    /** Wall-clock timestamps in agent logs, so that their lines can be put beside the benchmark's own times. */
    static final List<String> LOG_TIME = List.of("-Dorg.slf4j.simpleLogger.showDateTime=true",
            "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS");

    static final List<String> rows = new ArrayList<>();
    static final List<String> details = new ArrayList<>();

    @Test
    void revocationLatencyAtScale() throws Exception {
        String machine = String.format(Locale.ROOT, "%d cores, %d GiB, JDK %s", Runtime.getRuntime().availableProcessors(),
                Math.round(memTotalKb() / 1024.0 / 1024.0), System.getProperty("java.version"));
        System.out.println("machine: " + machine + ", load " + loadavg());
        for (String mode : MODES) {
            for (String n : list("bench.real", "3,10")) {
                run(Integer.parseInt(n), Kind.REAL, mode);
            }
            for (String n : list("bench.memory", "100")) {
                run(Integer.parseInt(n), Kind.MEMORY_JVMS, mode);
            }
            for (String n : list("bench.memoryInJvm", "100")) {
                run(Integer.parseInt(n), Kind.MEMORY_IN_ONE_JVM, mode);
            }
        }
        StringBuilder out = new StringBuilder();
        out.append("machine: ").append(machine).append('\n');
        out.append(String.format(Locale.ROOT, "anvil --block-time %s s, operator spec.access.chain.pollInterval %s, grantConfirmations 0, "
                + "%d revocations per row after one uncounted warm-up revocation, %d VpnPeer status writes fired at each; p99 by nearest rank%s%n",
                BLOCK_TIME.toMillis() / 1000.0, POLL, SAMPLES, BURST, SAMPLES < 100 ? " (of " + SAMPLES + " samples: the largest)" : ""));
        out.append("| N | nodes | mode | revocations | block observed by the operator → cut on every node, p50 | p99 "
                + "| block → cut on every node, p50 | p99 | submission → cut, p50 | p99 "
                + "| block → first node's cut, p50 | p99 | RPC calls per minute at idle | load (1 min) before → after |\n");
        out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        rows.forEach(r -> out.append(r).append('\n'));
        details.forEach(d -> out.append(d).append('\n'));
        System.out.println();
        System.out.print(out);
        Files.writeString(Path.of("target", "revocation-scale-benchmark.txt"), out.toString());
    }

    static List<String> list(String property, String def) {
        return Stream.of(System.getProperty(property, def).split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    // --- one configuration ---------------------------------------------------------------------------------------

    /** Where each node's device state comes from. */
    /** A mesh whose agents' apply times come from their log files. */
    abstract static class LogTailedMesh implements Mesh {
        final Map<String, LogTail> tails;

        LogTailedMesh(Map<String, LogTail> tails) {
            this.tails = tails;
        }

        @Override
        public List<Long> drainApplyMillis(List<String> nodes) throws IOException {
            return drain(tails, nodes);
        }
    }

    interface Mesh extends AutoCloseable {
        /** Public keys each node's device holds now (by node id). */
        Map<String, Set<String>> present() throws IOException;

        /**
         * Durations (ms) of the applies that {@code nodes}' agents logged since the last call ("applied peer set generation … in
         * X ms"); the other agents' lines are dropped.
         */
        List<Long> drainApplyMillis(List<String> nodes) throws IOException;

        /** Removal times (epoch µs) of {@code key} after {@code after}, by node; null for nodes that still hold it. */
        Map<String, Long> removals(String key, long after, List<String> nodes) throws IOException;

        @Override
        void close();
    }

    enum Kind {
        REAL("wireguard-go in netns, %d agent JVMs"),
        MEMORY_JVMS("fake backend (`WG_BACKEND=memory`), %d agent JVMs"),
        MEMORY_IN_ONE_JVM("fake backend (`WG_BACKEND=memory`), %d agents in one JVM");

        final String label;

        Kind(String label) {
            this.label = label;
        }
    }

    void run(int n, Kind kind, String mode) throws Exception {
        long started = System.nanoTime();
        boolean memory = kind != Kind.REAL;
        String ns = "rsb-" + n + "-" + kind.name().toLowerCase(Locale.ROOT).replace('_', '-') + "-" + mode;
        String loadBefore = loadavg();
        long memBefore = memAvailableKb();
        System.out.printf(Locale.ROOT, "%n== N = %d, %s, %s: load before %s%n", n, String.format(Locale.ROOT, kind.label, n), mode, loadBefore);
        List<AutoCloseable> toClose = new ArrayList<>();
        Path keys = Files.createTempDirectory("dstack-vpn-rsb-keys");
        try {
            Anvil anvil = Anvil.start(Anvil.Options.defaults().withBlockTime(BLOCK_TIME));
            toClose.add(anvil);
            Admin admin = new Admin(anvil.rpcUrl());
            String contract = new ContractWriter(admin.rpc, Anvil.PRIVATE_KEY_0, Anvil.BASE_CHAIN_ID, Duration.ofSeconds(30))
                    .deploy(ContractArtifact.bytecode(RealApiServer.repoRoot())).contractAddress();
            KubernetesClient client = RealApiServer.get().client();
            client.resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).serverSideApply();
            OperatorProcess operator = OperatorProcess.start(RealApiServer.get().kubeconfig(), ns);
            toClose.add(0, operator);
            var network = TestResources.chainNetwork(NET, "10.77.0.0/20", anvil.rpcUrl(), contract, 0, POLL);
            if (mode.equals("subscription")) {
                network.getSpec().access.chain.rpcUrls = List.of(anvil.rpcUrl(), "ws://127.0.0.1:" + anvil.port());
            } else if (!mode.equals("polling")) {
                throw new IllegalArgumentException("bench.modes: polling or subscription, not " + mode);
            }
            client.resource(network).inNamespace(ns).create();
            StatusBurst burst = BURST > 0 ? StatusBurst.create(client, ns, NET, BURST) : null;
            if (burst != null) {
                toClose.add(0, burst.pool::shutdownNow);
            }

            List<String> ids = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                ids.add(String.format(Locale.ROOT, "n-%03d", i));
            }
            Map<String, AgentProcess> agents = new LinkedHashMap<>();
            toClose.add(0, () -> closeAll(agents.values()));
            Mesh mesh;
            List<io.dstack.vpn.agent.Agent> inJvm = new ArrayList<>();
            toClose.add(0, () -> closeAllInJvm(inJvm));
            mesh = switch (kind) {
                case REAL -> startRealNodes(ids, ns, keys, agents);
                case MEMORY_JVMS -> startMemoryAgents(ids, ns, keys, agents, client);
                case MEMORY_IN_ONE_JVM -> startInJvmAgents(ids, ns, keys, inJvm);
            };
            toClose.add(1, mesh);

            // Every node publishes its key; mint all tokens in one block.
            Map<String, String> keyOf = new LinkedHashMap<>();
            awaitTrue(WAIT, "every agent published its VpnPeer", () -> {
                for (String id : ids) {
                    VpnPeer p = client.resources(VpnPeer.class).inNamespace(ns).withName(NET + "-" + id).get();
                    if (p == null || p.getSpec() == null || p.getSpec().publicKey == null) {
                        return false;
                    }
                    keyOf.put(id, p.getSpec().publicKey);
                }
                return true;
            });
            Map<String, BigInteger> tokens = admin.mintAll(contract, keyOf);
            awaitTrue(WAIT, "every node holds every other node", () -> everyoneHasEveryone(mesh, keyOf));
            System.out.printf(Locale.ROOT, "mesh of %d up after %.1f s%n", n, (System.nanoTime() - started) / 1e9);
            double idlePerMinute = IDLE_WINDOW.isZero() ? Double.NaN : idleRpcPerMinute(operator, ns);

            List<PeerSetSeen> seen = new CopyOnWriteArrayList<>();
            SharedIndexInformer<ConfigMap> informer = watchPeerSet(client, ns, seen);
            toClose.add(0, informer::close);

            List<Double> observedToCut = new ArrayList<>();
            List<Double> blockToCut = new ArrayList<>();
            List<Double> submitToCut = new ArrayList<>();
            List<Double> submitToBlock = new ArrayList<>();
            List<Double> blockToFirstCut = new ArrayList<>();
            List<Double> blockToPeerSet = new ArrayList<>();
            List<Double> slowestApply = new ArrayList<>();
            // Sample -1 warms up (JIT, the agents' first status writes after the mesh came up) and is not counted.
            for (int s = -1; s < SAMPLES; s++) {
                String victim = ids.get(Math.floorMod(s * 7, n));
                String key = keyOf.get(victim);
                List<String> others = ids.stream().filter(id -> !id.equals(victim)).toList();
                // A random phase against the block clock (the loop would otherwise lock onto it).
                Thread.sleep(ThreadLocalRandom.current().nextLong(BLOCK_TIME.toMillis()));
                mesh.drainApplyMillis(List.of()); // forget the re-grant's applies
                String raw = admin.sign(contract, AccessContract.revokeNodeAccess(tokens.get(victim)), admin.revokeGas(contract, tokens.get(victim)));
                if (burst != null) {
                    burst.fire(s + 2); // in flight while the revocation travels
                }
                long tSubmit = nowMicros();
                String hash = admin.sendRaw(raw);
                long tMined = admin.awaitReceiptMicros(hash);
                Map<String, Long> cuts = awaitCut(mesh, key, tSubmit, others);
                long tCut = Collections.max(cuts.values());
                if (burst != null) {
                    System.out.printf(Locale.ROOT, "sample %2d: %d of %d status writes of the burst done at the cut%n", s, burst.doneAt(tCut), BURST);
                    burst.await();
                }
                // The benchmark's own watch of the peer set (a third observer beside the agents): it may lag the cut.
                long[] peerSetAt = {-1};
                awaitTrue(Duration.ofSeconds(5), "the peer set without " + victim + " reached the benchmark's watch", () -> {
                    peerSetAt[0] = seen.stream().filter(p -> p.micros() >= tSubmit && p.complete() && !p.nodeIds().contains(victim))
                            .mapToLong(PeerSetSeen::micros).min().orElse(-1);
                    return peerSetAt[0] > 0;
                });
                long tPeerSet = peerSetAt[0];
                String firstCut = cuts.entrySet().stream().min(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElseThrow();
                String lastCut = cuts.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElseThrow();
                sleepMillis(50); // an agent logs "applied ... in X ms" just after its device change
                List<Long> applies = mesh.drainApplyMillis(others);
                long tObserved = observedMicros(operator, tokens.get(victim));
                if (s >= 0) {
                    observedToCut.add((tCut - tObserved) / 1e3);
                    blockToCut.add((tCut - tMined) / 1e3);
                    submitToCut.add((tCut - tSubmit) / 1e3);
                    submitToBlock.add((tMined - tSubmit) / 1e3);
                    blockToFirstCut.add((cuts.get(firstCut) - tMined) / 1e3);
                    blockToPeerSet.add((tPeerSet - tMined) / 1e3);
                    slowestApply.add(applies.isEmpty() ? Double.NaN : Collections.max(applies).doubleValue());
                }
                System.out.printf(Locale.ROOT, "sample %2d: operator saw the revoke %4.0f ms after the block, observed→last cut %4.0f ms%n", s,
                        (tObserved - tMined) / 1e3, (tCut - tObserved) / 1e3);
                System.out.printf(Locale.ROOT, "sample %2d: revoke %s: submit→block %4.0f ms, block→peer set (benchmark's watch) %4.0f ms, "
                        + "block→first cut %4.0f ms (%s), block→last cut %4.0f ms (%s); %d agent applies, slowest %s ms%n", s, victim,
                        (tMined - tSubmit) / 1e3, (tPeerSet - tMined) / 1e3, (cuts.get(firstCut) - tMined) / 1e3, firstCut,
                        (tCut - tMined) / 1e3, lastCut, applies.size(), applies.isEmpty() ? "?" : Collections.max(applies));

                // Grant the node again (a new token, same key) and wait until every node has it back.
                tokens.put(victim, admin.mint(contract, victim, key));
                awaitTrue(WAIT, victim + " back on every node", () -> {
                    Map<String, Set<String>> present = mesh.present();
                    return others.stream().allMatch(o -> present.get(o).contains(key));
                });
            }
            String loadAfter = loadavg();
            String backend = String.format(Locale.ROOT, kind.label, n);
            rows.add(String.format(Locale.ROOT, "| %d | %s | %s%s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s → %s |", n, backend, mode,
                    BURST > 0 ? ", " + BURST + " status writes in flight" : "", SAMPLES,
                    ms(p(observedToCut, 50)), ms(p(observedToCut, 99)), ms(p(blockToCut, 50)), ms(p(blockToCut, 99)), ms(p(submitToCut, 50)), ms(p(submitToCut, 99)),
                    ms(p(blockToFirstCut, 50)), ms(p(blockToFirstCut, 99)),
                    Double.isNaN(idlePerMinute) ? "—" : String.format(Locale.ROOT, "%.0f", idlePerMinute),
                    loadBefore.split(" ")[0], loadAfter.split(" ")[0]));
            details.add(String.format(Locale.ROOT, "N = %d: submission → block p50 %s, max %s; block → peer set seen by the benchmark's own "
                    + "watch p50 %s, p99 %s; first → last cut (fan-out) p50 %s, p99 %s; slowest agent apply per revocation (agent log, "
                    + "diff + device) p50 %s, p99 %s", n, ms(p(submitToBlock, 50)), ms(p(submitToBlock, 100)), ms(p(blockToPeerSet, 50)),
                    ms(p(blockToPeerSet, 99)), ms(p(diff(blockToCut, blockToFirstCut), 50)), ms(p(diff(blockToCut, blockToFirstCut), 99)),
                    ms(p(slowestApply, 50)), ms(p(slowestApply, 99))));
            long rss = 0;
            long pss = 0;
            for (AgentProcess a : agents.values()) {
                rss += a.rssKb();
                pss += pssKb(a.pid());
            }
            if (kind == Kind.MEMORY_IN_ONE_JVM) { // the benchmark's JVM, agents and all
                rss = rssKb(ProcessHandle.current().pid());
                pss = pssKb(ProcessHandle.current().pid());
            }
            details.add(String.format(Locale.ROOT, "N = %d (%s): agents' RSS %d MiB total (%d MiB each), PSS %d MiB total; JVM %s; "
                    + "wall time %.0f s; load (1/5/15 min) before %s, after %s; MemAvailable before %.1f GiB, after %.1f GiB", n,
                    backend, rss / 1024, rss / 1024 / n, pss / 1024,
                    kind == Kind.MEMORY_IN_ONE_JVM ? "the benchmark's own" : String.join(" ", memory ? memoryJvmOptions() : AgentProcess.DEFAULT_JVM_OPTIONS), (System.nanoTime() - started) / 1e9,
                    loadBefore, loadAfter, memBefore / 1048576.0, memAvailableKb() / 1048576.0));
            details.add(String.format(Locale.ROOT, "N = %d block → last cut, ms, in sample order: %s", n,
                    blockToCut.stream().map(v -> String.format(Locale.ROOT, "%.0f", v)).collect(Collectors.joining(" "))));
            System.out.println(rows.get(rows.size() - 1));
            System.out.println(details.get(details.size() - 1));
        } finally {
            for (AutoCloseable c : toClose) {
                try {
                    c.close();
                } catch (Exception e) {
                    System.err.println("cleanup: " + e);
                }
            }
            deleteRecursively(keys);
        }
    }

    static List<Double> diff(List<Double> a, List<Double> b) {
        List<Double> out = new ArrayList<>();
        for (int i = 0; i < a.size(); i++) {
            out.add(a.get(i) - b.get(i));
        }
        return out;
    }

    static String ms(double v) {
        return Double.isNaN(v) ? "—" : String.format(Locale.ROOT, "%.0f ms", v);
    }

    /** Nearest rank. */
    static double p(List<Double> values, int percentile) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        List<Double> s = new ArrayList<>(values.stream().filter(v -> !v.isNaN()).toList());
        if (s.isEmpty()) {
            return Double.NaN;
        }
        Collections.sort(s);
        return s.get(Math.max(0, Math.min(s.size() - 1, (int) Math.ceil(s.size() * percentile / 100.0) - 1)));
    }

    static boolean everyoneHasEveryone(Mesh mesh, Map<String, String> keyOf) throws IOException {
        Map<String, Set<String>> present = mesh.present();
        for (String id : keyOf.keySet()) {
            Set<String> want = new HashSet<>(keyOf.values());
            want.remove(keyOf.get(id));
            if (!present.get(id).equals(want)) {
                return false;
            }
        }
        return true;
    }

    static Map<String, Long> awaitCut(Mesh mesh, String key, long after, List<String> others) throws Exception {
        long deadline = System.nanoTime() + CUT_TIMEOUT.toNanos();
        while (true) {
            Map<String, Long> cuts = mesh.removals(key, after, others);
            if (cuts.values().stream().allMatch(v -> v != null)) {
                return cuts;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not cut within " + CUT_TIMEOUT + " on " + cuts.entrySet().stream()
                        .filter(e -> e.getValue() == null).map(Map.Entry::getKey).toList());
            }
        }
    }

    // --- real nodes: netns + wireguard-go, cut seen by polling UAPI --------------------------------------------

    Mesh startRealNodes(List<String> ids, String ns, Path keys, Map<String, AgentProcess> agents) throws IOException {
        SimulatedNetwork net = new SimulatedNetwork();
        Map<String, UapiClient> uapi = new LinkedHashMap<>();
        try {
            for (String id : ids) {
                SimulatedNode node = net.addNode(id.replace("-", ""));
                node.startWireGuard("wg0");
                uapi.put(id, new UapiClient(node.uapiSocket("wg0")));
            }
            for (String id : ids) {
                SimulatedNode node = net.nodes().stream().filter(x -> x.name().equals(id.replace("-", ""))).findFirst().orElseThrow();
                List<String> jvm = new ArrayList<>(AgentProcess.DEFAULT_JVM_OPTIONS);
                jvm.addAll(LOG_TIME);
                agents.put(id, AgentProcess.start(node, id, ns, NET, keys.resolve(id), Map.of("STATS_SECONDS", "30"), jvm));
            }
        } catch (RuntimeException | IOException e) {
            net.close();
            throw e;
        }
        Map<String, LogTail> tails = new LinkedHashMap<>();
        agents.forEach((id, a) -> tails.put(id, new LogTail(a.logFile())));
        return new LogTailedMesh(tails) {

            @Override
            public Map<String, Set<String>> present() throws IOException {
                Map<String, Set<String>> out = new LinkedHashMap<>();
                for (var e : uapi.entrySet()) {
                    out.put(e.getKey(), new HashSet<>(e.getValue().get().peers().keySet()));
                }
                return out;
            }

            /** Polls the nodes that still hold the key, one UAPI get each, until one round finds it gone everywhere. */
            @Override
            public Map<String, Long> removals(String key, long after, List<String> nodes) throws IOException {
                Map<String, Long> cut = new LinkedHashMap<>();
                nodes.forEach(id -> cut.put(id, null));
                long deadline = System.nanoTime() + CUT_TIMEOUT.toNanos();
                while (cut.containsValue(null) && System.nanoTime() < deadline) {
                    for (String id : nodes) {
                        if (cut.get(id) == null && !uapi.get(id).get().peers().containsKey(key)) {
                            cut.put(id, nowMicros());
                        }
                    }
                    sleepMillis(2);
                }
                return cut;
            }

            @Override
            public void close() {
                net.close();
            }
        };
    }

    // --- fake backend: WG_BACKEND=memory, cut times from the agents' logs --------------------------------------

    Mesh startMemoryAgents(List<String> ids, String ns, Path keys, Map<String, AgentProcess> agents, KubernetesClient client)
            throws Exception {
        List<String> jvm = new ArrayList<>(memoryJvmOptions());
        jvm.addAll(LOG_TIME);
        // In batches: 100 JVMs starting at once on 2 cores would take longer than starting them 10 at a time.
        int batch = 10;
        for (int i = 0; i < ids.size(); i += batch) {
            List<String> some = ids.subList(i, Math.min(ids.size(), i + batch));
            for (String id : some) {
                int k = agents.size();
                agents.put(id, AgentProcess.startMemory(id, ns, NET, keys.resolve(id), "198.18." + (k / 250) + "." + (1 + k % 250) + ":51820",
                        Map.of("STATS_SECONDS", "30", "MALLOC_ARENA_MAX", "2"), jvm));
            }
            awaitTrue(WAIT, "agents " + some + " published their VpnPeers", () -> some.stream()
                    .allMatch(id -> client.resources(VpnPeer.class).inNamespace(ns).withName(NET + "-" + id).get() != null));
        }
        Map<String, LogTail> tails = new LinkedHashMap<>();
        agents.forEach((id, a) -> tails.put(id, new LogTail(a.logFile())));
        return new LogTailedMesh(tails) {

            @Override
            public Map<String, Set<String>> present() throws IOException {
                Map<String, Set<String>> out = new LinkedHashMap<>();
                for (var e : tails.entrySet()) {
                    e.getValue().poll();
                    out.put(e.getKey(), e.getValue().present);
                }
                return out;
            }

            @Override
            public Map<String, Long> removals(String key, long after, List<String> nodes) throws IOException {
                Map<String, Long> cut = new LinkedHashMap<>();
                for (String id : nodes) {
                    LogTail t = tails.get(id);
                    t.poll();
                    Long at = t.lastRemoved.get(key);
                    cut.put(id, at != null && at >= after && !t.present.contains(key) ? at : null);
                }
                if (cut.containsValue(null)) {
                    sleepMillis(25); // the times come from the logs: polling often only costs CPU
                }
                return cut;
            }

            @Override
            public void close() {
            }
        };
    }

    /** {@link AgentProcess#SMALL_JVM_OPTIONS}, or {@code bench.memoryJvm} (comma-separated). */
    static List<String> memoryJvmOptions() {
        String p = System.getProperty("bench.memoryJvm", "");
        return p.isBlank() ? AgentProcess.SMALL_JVM_OPTIONS : List.of(p.split(","));
    }

    static long rssKb(long pid) {
        try {
            return Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")).stream().filter(l -> l.startsWith("VmRSS:"))
                    .findFirst().map(l -> Long.parseLong(l.replaceAll("[^0-9]", ""))).orElse(-1L);
        } catch (IOException e) {
            return -1;
        }
    }

    /** Proportional set size (shared pages divided among their users): what the agents really cost together. */
    static long pssKb(long pid) {
        try {
            return Files.readAllLines(Path.of("/proc", Long.toString(pid), "smaps_rollup")).stream().filter(l -> l.startsWith("Pss:"))
                    .findFirst().map(l -> Long.parseLong(l.replaceAll("[^0-9]", ""))).orElse(-1L);
        } catch (IOException e) {
            return -1;
        }
    }

    static List<Long> drain(Map<String, LogTail> tails, List<String> nodes) throws IOException {
        List<Long> out = new ArrayList<>();
        for (var e : tails.entrySet()) {
            LogTail t = e.getValue();
            t.poll();
            if (nodes.contains(e.getKey())) {
                out.addAll(t.applyMillis);
            }
            t.applyMillis.clear();
        }
        return out;
    }

    // --- fake backend, many Agent instances in this JVM ------------------------------------------------------------

    /**
     * {@code n} Agents in this JVM, each with its own API client, key directory and memory device, read directly:
     * the same API server and operator load as {@code n} agent processes, without {@code n} JVMs competing for the cores.
     */
    Mesh startInJvmAgents(List<String> ids, String ns, Path keys, List<io.dstack.vpn.agent.Agent> started) throws IOException {
        String kubeconfig = Files.readString(RealApiServer.get().kubeconfig());
        Map<String, io.dstack.vpn.agent.device.MemoryDevice> devices = new LinkedHashMap<>();
        for (String id : ids) {
            int k = devices.size();
            io.dstack.vpn.agent.AgentConfig config = io.dstack.vpn.agent.AgentConfig.fromEnv(Map.of("NAMESPACE", ns, "NETWORK", NET,
                    "NODE_ID", id, "KEY_DIR", keys.resolve(id).toString(), "WG_INTERFACE", "wg0", "WG_BACKEND", "memory",
                    "ENDPOINT", "198.18." + (k / 250) + "." + (1 + k % 250) + ":51820", "HTTP_PORT", "0", "STATS_SECONDS", "30"));
            io.dstack.vpn.agent.Agent agent = new io.dstack.vpn.agent.Agent(config, new io.fabric8.kubernetes.client.KubernetesClientBuilder()
                    .withConfig(io.fabric8.kubernetes.client.Config.fromKubeconfig(kubeconfig)).build());
            started.add(agent);
            agent.start();
            devices.put(id, (io.dstack.vpn.agent.device.MemoryDevice) agent.device());
        }
        return new Mesh() {
            @Override
            public Map<String, Set<String>> present() {
                Map<String, Set<String>> out = new LinkedHashMap<>();
                devices.forEach((id, d) -> out.put(id, new HashSet<>(d.state().peers().keySet())));
                return out;
            }

            @Override
            public List<Long> drainApplyMillis(List<String> nodes) {
                return List.of(); // their log lines go to this JVM's console, not parsed
            }

            @Override
            public Map<String, Long> removals(String key, long after, List<String> nodes) {
                Map<String, Long> cut = new LinkedHashMap<>();
                for (String id : nodes) {
                    var d = devices.get(id);
                    Long at = d.removedAt(key).map(io.dstack.vpn.agent.device.MemoryDevice::epochMicros).orElse(null);
                    cut.put(id, at != null && at >= after && !d.state().peers().containsKey(key) ? at : null);
                }
                if (cut.containsValue(null)) {
                    sleepMillis(5);
                }
                return cut;
            }

            @Override
            public void close() {
            }
        };
    }

    static void closeAllInJvm(List<io.dstack.vpn.agent.Agent> agents) {
        try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            agents.forEach(a -> pool.submit(a::close));
        }
    }

    /**
     * Follows one agent log: which keys its memory device holds, when each was last removed, and how long its
     * applies took.
     */
    static final class LogTail {
        static final Pattern APPLIED = Pattern.compile("applied peer set generation \\d+: \\d+ peers, [1-9]\\d* changes in (\\d+) ms");
        final Path file;
        long offset;
        String partial = "";
        final Set<String> present = new HashSet<>();
        final Map<String, Long> lastRemoved = new HashMap<>();
        final List<Long> applyMillis = new ArrayList<>();

        LogTail(Path file) {
            this.file = file;
        }

        void poll() throws IOException {
            try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
                long len = f.length();
                if (len <= offset) {
                    return;
                }
                byte[] buf = new byte[(int) (len - offset)];
                f.seek(offset);
                f.readFully(buf);
                offset = len;
                String text = partial + new String(buf, StandardCharsets.UTF_8);
                int lastNl = text.lastIndexOf('\n');
                partial = text.substring(lastNl + 1);
                String complete = text.substring(0, lastNl + 1);
                Matcher a = APPLIED.matcher(complete);
                while (a.find()) {
                    applyMillis.add(Long.parseLong(a.group(1)));
                }
                Matcher m = MEMORY_LINE.matcher(complete);
                while (m.find()) {
                    if (m.group(1).equals("added")) {
                        present.add(m.group(2));
                    } else {
                        present.remove(m.group(2));
                        lastRemoved.put(m.group(2), Long.parseLong(m.group(3)));
                    }
                }
            }
        }
    }

    // --- chain --------------------------------------------------------------------------------------------------

    /** The contract owner's transactions, signed here so that the send itself can be timed. */
    static final class Admin {
        final RpcClient rpc;
        final Credentials credentials = Credentials.create(Anvil.PRIVATE_KEY_0);
        BigInteger nonce;
        BigInteger gasPrice;

        Admin(String url) {
            this.rpc = RpcClient.of(List.of(url), RpcListener.NONE);
        }

        BigInteger revokeGas(String contract, BigInteger token) {
            return estimate(contract, AccessContract.revokeNodeAccess(token));
        }

        BigInteger estimate(String contract, String data) {
            BigInteger gas = Numeric.decodeQuantity(rpc.call("eth_estimateGas", Map.of("from", credentials.getAddress(), "to", contract,
                    "data", data)).asText());
            return gas.add(gas.divide(BigInteger.TWO));
        }

        String sign(String contract, String data, BigInteger gas) {
            if (nonce == null) {
                nonce = Numeric.decodeQuantity(rpc.call("eth_getTransactionCount", credentials.getAddress(), "pending").asText());
            }
            // Twice the first quoted price, fixed: a 2 s chain's base fee moves between signing and the block, and
            // re-quoting each time compounds (anvil's quote follows the tips of recent transactions: ours).
            if (gasPrice == null) {
                gasPrice = Numeric.decodeQuantity(rpc.call("eth_gasPrice").asText()).multiply(BigInteger.TWO);
            }
            RawTransaction tx = RawTransaction.createTransaction(nonce, gasPrice, gas, contract, BigInteger.ZERO, data);
            nonce = nonce.add(BigInteger.ONE);
            return Numeric.toHexString(TransactionEncoder.signMessage(tx, Anvil.BASE_CHAIN_ID, credentials));
        }

        String sendRaw(String raw) {
            return rpc.call("eth_sendRawTransaction", raw).asText();
        }

        JsonNode receipt(String hash, long pollMillis) {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                JsonNode r = rpc.call("eth_getTransactionReceipt", hash);
                if (r != null && !r.isNull()) {
                    if (!"0x1".equals(r.path("status").asText())) {
                        throw new AssertionError("transaction " + hash + " reverted");
                    }
                    return r;
                }
                sleepMillis(pollMillis);
            }
            throw new AssertionError("no receipt for " + hash);
        }

        /** Polls the receipt every 5 ms; the time it is first seen. */
        long awaitReceiptMicros(String hash) {
            receipt(hash, 5);
            return nowMicros();
        }

        BigInteger mint(String contract, String nodeId, String key) {
            String data = AccessContract.mintNodeAccess(Anvil.ACCOUNT_1, nodeId, key, "");
            return tokenOf(receipt(sendRaw(sign(contract, data, estimate(contract, data))), 20));
        }

        /** One transaction per node, sent back to back: they land in the same block. */
        Map<String, BigInteger> mintAll(String contract, Map<String, String> keyOf) {
            Map<String, String> hashes = new LinkedHashMap<>();
            keyOf.forEach((id, key) -> {
                String data = AccessContract.mintNodeAccess(Anvil.ACCOUNT_1, id, key, "");
                hashes.put(id, sendRaw(sign(contract, data, estimate(contract, data))));
            });
            Map<String, BigInteger> tokens = new LinkedHashMap<>();
            hashes.forEach((id, h) -> tokens.put(id, tokenOf(receipt(h, 20))));
            return tokens;
        }

        static BigInteger tokenOf(JsonNode receipt) {
            for (JsonNode log : receipt.path("logs")) {
                if (AccessContract.decodeLog(log) instanceof AccessEvent.Granted g) {
                    return g.tokenId();
                }
            }
            throw new AssertionError("no NodeAccessGranted in " + receipt);
        }
    }

    // --- peer set watch -------------------------------------------------------------------------------------------

    /**
     * The network's peer-set ConfigMaps (index and shards, or the legacy single object) as the benchmark's watch held
     * them after one event; assembled lazily with StoredPeerSet (the handler only takes the time and a copy of the map).
     */
    record PeerSetSeen(long micros, List<ConfigMap> objects) {
        /** The node ids of the set in force then: empty when it was not complete (a shard still on its way). */
        Set<String> nodeIds() {
            return StoredPeerSet.from(NET, objects, (name, message) -> {
            }).filter(StoredPeerSet::complete).map(s -> s.whole().peers().stream().map(PeerSet.Peer::nodeId)
                    .collect(Collectors.toSet())).orElse(Set.of());
        }

        boolean complete() {
            return StoredPeerSet.from(NET, objects, (name, message) -> {
            }).filter(StoredPeerSet::complete).isPresent();
        }
    }

    static SharedIndexInformer<ConfigMap> watchPeerSet(KubernetesClient client, String ns, List<PeerSetSeen> seen) {
        Map<String, ConfigMap> current = new HashMap<>();
        return client.configMaps().inNamespace(ns).withLabel(VpnLabels.NETWORK, NET)
                .withLabel(VpnLabels.COMPONENT, VpnLabels.COMPONENT_PEERSET).inform(new ResourceEventHandler<>() {
            @Override
            public void onAdd(ConfigMap cm) {
                record(cm);
            }

            @Override
            public void onUpdate(ConfigMap old, ConfigMap cm) {
                record(cm);
            }

            @Override
            public void onDelete(ConfigMap cm, boolean unknown) {
                synchronized (current) {
                    current.remove(cm.getMetadata().getName());
                }
            }

            private void record(ConfigMap cm) {
                long at = nowMicros();
                synchronized (current) {
                    current.put(cm.getMetadata().getName(), cm);
                    seen.add(new PeerSetSeen(at, List.copyOf(current.values())));
                }
            }
        });
    }

    // --- helpers --------------------------------------------------------------------------------------------------

    /**
     * When the operator's chain follower first saw the revocation of {@code token}: the timestamp of its log line
     * "revocation of token #… seen in block …" (HH:mm:ss.SSS, this machine's clock and zone, today).
     */
    /**
     * VpnPeers that are not in the mesh (no token: Pending) whose status the benchmark writes all at once, as a
     * network's agents do after a peer-set change: applied generation and the Applied condition, as the agent's field
     * manager, from 16 threads. Each write wakes the network reconcile and loads the API server.
     */
    static final class StatusBurst {
        final KubernetesClient client;
        final String ns;
        final List<String> names;
        final java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(16);
        final List<Long> doneMicros = new CopyOnWriteArrayList<>();
        List<java.util.concurrent.Future<?>> inFlight = List.of();

        StatusBurst(KubernetesClient client, String ns, List<String> names) {
            this.client = client;
            this.ns = ns;
            this.names = names;
        }

        static StatusBurst create(KubernetesClient client, String ns, String network, int count) {
            List<String> names = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                String node = String.format(Locale.ROOT, "burst-%05d", i);
                String key = io.dstack.vpn.api.wireguard.WireGuardKey.generatePrivate().publicKey().toBase64();
                client.resource(TestResources.peer(network + "-" + node, network, node, key)).inNamespace(ns).create();
                names.add(network + "-" + node);
            }
            return new StatusBurst(client, ns, names);
        }

        void fire(long generation) {
            doneMicros.clear();
            List<java.util.concurrent.Future<?>> futures = new ArrayList<>();
            for (String name : names) {
                futures.add(pool.submit(() -> {
                    Map<String, Object> status = Map.of("applied", Map.of("generation", generation, "peersConfigured", 0),
                            "conditions", List.of(Map.of("type", "Applied", "status", "True", "reason", "Applied",
                                    "message", "peer set generation " + generation + " applied", "lastTransitionTime", Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString())));
                    Map<String, Object> body = Map.of("apiVersion", "vpn.dstack.io/v1alpha1", "kind", "VpnPeer",
                            "metadata", Map.of("name", name, "namespace", ns), "status", status);
                    client.resources(VpnPeer.class).inNamespace(ns).withName(name).subresource("status")
                            .patch(new io.fabric8.kubernetes.client.dsl.base.PatchContext.Builder()
                                    .withPatchType(io.fabric8.kubernetes.client.dsl.base.PatchType.SERVER_SIDE_APPLY)
                                    .withFieldManager(io.dstack.vpn.api.VpnLabels.FIELD_MANAGER_AGENT).withForce(true).build(),
                                    client.getKubernetesSerialization().asJson(body));
                    doneMicros.add(nowMicros());
                }));
            }
            inFlight = futures;
        }

        long doneAt(long micros) {
            return doneMicros.stream().filter(t -> t <= micros).count();
        }

        void await() throws Exception {
            for (var f : inFlight) {
                f.get();
            }
        }
    }

    /** The operator's JSON-RPC calls per minute for this namespace's network, counted over {@link #IDLE_WINDOW} of no changes. */
    static double idleRpcPerMinute(OperatorProcess operator, String ns) throws Exception {
        double before = rpcCalls(operator, ns);
        long t0 = System.nanoTime();
        Thread.sleep(IDLE_WINDOW.toMillis());
        double after = rpcCalls(operator, ns);
        double perMinute = (after - before) / ((System.nanoTime() - t0) / 60e9);
        System.out.printf(Locale.ROOT, "idle: %.0f RPC calls per minute over %d s%n", perMinute, IDLE_WINDOW.toSeconds());
        return perMinute;
    }

    static double rpcCalls(OperatorProcess operator, String ns) throws Exception {
        return operator.get("/q/metrics").lines()
                .filter(l -> l.startsWith("dstack_vpn_chain_rpc_calls_total{") && l.contains("namespace=\"" + ns + "\""))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    static long observedMicros(OperatorProcess operator, BigInteger token) throws Exception {
        String marker = "revocation of token #" + token + " (";
        long[] at = {-1};
        awaitTrue(Duration.ofSeconds(5), "the operator's log line for token " + token, () -> {
            for (String line : operator.log().split("\n")) {
                if (line.contains(marker)) {
                    java.time.LocalTime time = java.time.LocalTime.parse(line.substring(0, 12));
                    Instant instant = java.time.LocalDate.now().atTime(time).atZone(java.time.ZoneId.systemDefault()).toInstant();
                    at[0] = instant.getEpochSecond() * 1_000_000L + instant.getNano() / 1_000;
                    return true;
                }
            }
            return false;
        });
        return at[0];
    }

    static long nowMicros() {
        Instant t = Instant.now();
        return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000;
    }

    static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    interface Check {
        boolean ok() throws Exception;
    }

    static void awaitTrue(Duration timeout, String what, Check check) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            try {
                if (check.ok()) {
                    return;
                }
            } catch (Exception e) {
                last = e;
            }
            sleepMillis(20);
        }
        AssertionError e = new AssertionError("timed out after " + timeout + ": " + what);
        if (last != null) {
            e.initCause(last);
        }
        throw e;
    }

    /** SIGTERM to every agent at once, then wait for each (one by one would take a second per agent). */
    static void closeAll(java.util.Collection<AgentProcess> agents) {
        try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            agents.forEach(a -> pool.submit(a::close));
        }
        if (!Boolean.getBoolean("bench.keepLogs")) {
            for (AgentProcess a : agents) {
                try {
                    Files.deleteIfExists(a.logFile());
                } catch (IOException ignored) {
                    // a temp file
                }
            }
        }
    }

    static String loadavg() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "?";
        }
    }

    static long memTotalKb() {
        return meminfo("MemTotal:");
    }

    static long memAvailableKb() {
        return meminfo("MemAvailable:");
    }

    static long meminfo(String field) {
        try {
            return Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith(field)).findFirst()
                    .map(l -> Long.parseLong(l.replaceAll("[^0-9]", ""))).orElse(-1L);
        } catch (IOException e) {
            return -1;
        }
    }

    static void deleteRecursively(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException ignored) {
            // temp dir: best effort
        }
    }
}
