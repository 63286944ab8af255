package io.dstack.vpn.agent.it;

import java.io.IOException;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.testing.RealApiServer;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The agent's footprint (issue 19): the packaged agent jar as a process (fake in-memory device,
 * {@code WG_BACKEND=memory}) against the real API server, with a peer set of {@code bench.peers} (1,000) peers
 * written straight into the network's peer-set ConfigMap (no operator: the agent reads only that). Variants
 * (a jar directory and JVM options each) are started in turn, round after round, so load on the machine falls
 * on all of them alike. Per start: process start → /readyz 200 (a peer set received) and → the set applied
 * (/metrics); in the first {@code bench.rssRounds} rounds the agent then runs {@code bench.settleSeconds} (drift
 * checks and status reports every 5 s), and the benchmark reads VmRSS, Pss and the thread count from /proc
 * (adding the node proxy's child JVM when the set enables the proxy), then removes one peer and times that apply.
 * Not a CI test (the name matches neither *Test nor *IT): run {@code hack/bench-agent-footprint.sh}.
 */
class AgentFootprintBenchmark {
    static final String NS = "footprint";
    static final String NET = "bench";
    static final int PEERS = Integer.getInteger("bench.peers", 1000);
    static final int STARTS = Integer.getInteger("bench.starts", 10);
    static final int RSS_ROUNDS = Integer.getInteger("bench.rssRounds", 3);
    static final int SETTLE_SECONDS = Integer.getInteger("bench.settleSeconds", 15);
    static final boolean PROXY = Boolean.getBoolean("bench.proxy");
    static final Duration TIMEOUT = Duration.ofSeconds(60);
    static final Pattern GENERATION = Pattern.compile("(?m)^dstack_vpn_agent_applied_generation (\\d+)");
    static final Pattern LAST_APPLY = Pattern.compile("(?m)^dstack_vpn_agent_last_apply_seconds (\\S+)");

    /** {@code name|jar directory|JVM options}, separated by {@code ;}. */
    record Variant(String name, Path dir, List<String> jvmOptions) {
        static Variant parse(String s) {
            String[] parts = s.split("\\|", -1);
            return new Variant(parts[0].strip(), Path.of(parts[1].strip()),
                    parts[2].isBlank() ? List.of() : Arrays.asList(parts[2].strip().split("\\s+")));
        }
    }

    record Sample(double readyMs, double appliedMs, double applyMs, long rssKb, long pssKb, int threads, int processes, double removalMs) {
    }

    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    long generation;

    @Test
    void footprint() throws Exception {
        List<Variant> variants = Arrays.stream(System.getProperty("bench.variants").split(";")).filter(s -> !s.isBlank())
                .map(Variant::parse).toList();
        KubernetesClient client = RealApiServer.get().client();
        client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();
        List<PeerSet.Peer> peers = peers(PEERS);
        Integer proxyPort = PROXY ? freePort() : null;
        Map<Variant, List<Sample>> samples = new LinkedHashMap<>();
        for (Variant v : variants) {
            samples.put(v, new ArrayList<>());
            trainIfAsked(v);
        }
        System.out.printf(Locale.ROOT, "machine: %d cores, JDK %s, load %s; %d peers, proxy %s%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.version"), loadavg(), PEERS, PROXY ? "on" : "off");
        // One uncounted round first: the page cache holds every jar after it.
        for (int round = -1; round < STARTS; round++) {
            for (Variant v : variants) {
                Sample s = run(client, v, peers, proxyPort, round >= 0 && round < RSS_ROUNDS);
                if (round >= 0) {
                    samples.get(v).add(s);
                }
                System.out.printf(Locale.ROOT, "round %d %s: ready %.0f ms, applied %.0f ms (the apply itself %.1f ms), RSS %d KiB, Pss %d KiB, threads %d, processes %d, removal %.1f ms%n",
                        round, v.name(), s.readyMs(), s.appliedMs(), s.applyMs(), s.rssKb(), s.pssKb(), s.threads(), s.processes(), s.removalMs());
            }
        }
        System.out.println("| variant | start → Ready p50 | p99 | start → 1,000 peers applied p50 | the 1,000-peer apply itself p50 | RSS MiB (median) | Pss MiB | threads | processes | one removal applied, ms (median) |");
        System.out.println("|---|---|---|---|---|---|---|---|---|---|");
        samples.forEach((v, list) -> {
            List<Sample> rss = list.stream().filter(s -> s.rssKb() > 0).toList();
            System.out.printf(Locale.ROOT, "| %s | %.0f ms | %.0f ms | %.0f ms | %.1f ms | %.1f | %.1f | %.0f | %.0f | %.1f |%n", v.name(),
                    percentile(list.stream().mapToDouble(Sample::readyMs).toArray(), 50),
                    percentile(list.stream().mapToDouble(Sample::readyMs).toArray(), 99),
                    percentile(list.stream().mapToDouble(Sample::appliedMs).toArray(), 50),
                    percentile(list.stream().mapToDouble(Sample::applyMs).toArray(), 50),
                    percentile(rss.stream().mapToDouble(Sample::rssKb).toArray(), 50) / 1024,
                    percentile(rss.stream().mapToDouble(Sample::pssKb).toArray(), 50) / 1024,
                    percentile(rss.stream().mapToDouble(Sample::threads).toArray(), 50),
                    percentile(rss.stream().mapToDouble(Sample::processes).toArray(), 50),
                    percentile(rss.stream().mapToDouble(Sample::removalMs).toArray(), 50));
            System.out.println("variant " + v.name() + ": " + v.dir() + " " + String.join(" ", v.jvmOptions()));
        });
        System.out.println("load after: " + loadavg());
    }

    Sample run(KubernetesClient client, Variant v, List<PeerSet.Peer> peers, Integer proxyPort, boolean measureMemory) throws Exception {
        long g = ++generation;
        writePeerSet(client, new PeerSet(NET, g, "10.96.0.0/16", 51820, 1420, "Mesh", null, proxyPort, peers));
        Path jar = agentJar(v);
        int port = freePort();
        Path keyDir = Files.createDirectories(Path.of(System.getProperty("java.io.tmpdir"), "dstack-vpn-footprint-keys"));
        Path log = Files.createTempFile("dstack-vpn-footprint-" + v.name(), ".log");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        v.jvmOptions().stream().filter(o -> !isEnv(o)).forEach(cmd::add);
        cmd.addAll(List.of("-jar", jar.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(v.dir().toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = pb.environment();
        env.put("KUBECONFIG", RealApiServer.get().kubeconfig().toString());
        env.putAll(Map.of("NAMESPACE", NS, "NETWORK", NET, "NODE_ID", "node-0000", "KEY_DIR", keyDir.toString(), "WG_BACKEND", "memory",
                "ENDPOINT", "10.255.0.1:51820", "HTTP_PORT", Integer.toString(port), "STATS_SECONDS", "5", "HTTP_BIND", "127.0.0.1"));
        v.jvmOptions().stream().filter(AgentFootprintBenchmark::isEnv).forEach(o -> env.put(o.substring(0, o.indexOf('=')), o.substring(o.indexOf('=') + 1)));
        long t0 = System.nanoTime();
        Process p = pb.start();
        try {
            double ready = msSince(t0, until(() -> get(port, "/readyz").statusCode() == 200, p, log));
            double applied = msSince(t0, until(() -> appliedGeneration(port) >= g, p, log));
            double apply = lastApplyMs(port);
            if (!measureMemory) {
                return new Sample(ready, applied, apply, 0, 0, 0, 0, 0);
            }
            Thread.sleep(SETTLE_SECONDS * 1000L);
            List<Long> pids = new ArrayList<>(List.of(p.pid()));
            p.descendants().forEach(d -> pids.add(d.pid()));
            long rss = 0;
            long anon = 0;
            long pss = 0;
            int threads = 0;
            for (long pid : pids) {
                rss += procField("/proc/" + pid + "/status", "VmRSS:");
                anon += procField("/proc/" + pid + "/status", "RssAnon:");
                pss += procField("/proc/" + pid + "/smaps_rollup", "Pss:");
                threads += (int) procField("/proc/" + pid + "/status", "Threads:");
            }
            System.out.printf(Locale.ROOT, "  %s: RssAnon %d KiB (the rest is mapped files: libjvm, jars, the CDS or AOT archive)%n", v.name(), anon);
            if (v.jvmOptions().stream().anyMatch(o -> o.startsWith("-XX:NativeMemoryTracking="))) {
                Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(), Long.toString(p.pid()),
                        "VM.native_memory", "summary").redirectErrorStream(true).start();
                System.out.println(new String(jcmd.getInputStream().readAllBytes()).lines().filter(l -> l.contains("committed="))
                        .map(l -> "  nmt " + l.strip()).collect(java.util.stream.Collectors.joining("\n")));
            }
            // Revocation on the node: one peer goes; time until the agent has applied that generation.
            long removed = ++generation;
            long r0 = System.nanoTime();
            writePeerSet(client, new PeerSet(NET, removed, "10.96.0.0/16", 51820, 1420, "Mesh", null, proxyPort, peers.subList(0, peers.size() - 1)));
            double removal = msSince(r0, until(() -> appliedGeneration(port) >= removed, p, log));
            return new Sample(ready, applied, apply, rss, pss, threads, pids.size(), removal);
        } finally {
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
            }
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            Files.deleteIfExists(log);
        }
    }

    /** A variant's option {@code NAME=value} (upper case, no leading dash) is the agent's environment, e.g. NODE_PROXY=process. */
    static boolean isEnv(String option) {
        return option.matches("[A-Z][A-Z0-9_]*=.*");
    }

    /** A variant that names a missing AOT cache gets it from a training run, as the image build makes it. */
    static void trainIfAsked(Variant v) throws Exception {
        String cache = v.jvmOptions().stream().filter(o -> o.startsWith("-XX:AOTCache=")).map(o -> o.substring("-XX:AOTCache=".length()))
                .findFirst().orElse(null);
        if (cache == null || Files.exists(Path.of(cache))) {
            return;
        }
        List<String> cmd = new ArrayList<>(List.of(RealApiServer.repoRoot().resolve("agent-daemonset/aot-training.sh").toString(), cache));
        v.jvmOptions().stream().filter(o -> !o.startsWith("-XX:AOTCache=") && !isEnv(o)).forEach(cmd::add);
        cmd.addAll(List.of("-jar", agentJar(v).toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(v.dir().toFile()).inheritIO();
        pb.environment().put("PATH", Path.of(System.getProperty("java.home"), "bin") + ":" + System.getenv("PATH"));
        if (pb.start().waitFor() != 0) {
            throw new IllegalStateException("AOT training failed for " + v.name());
        }
    }

    static Path agentJar(Variant v) throws IOException {
        try (var files = Files.list(v.dir())) {
            return files.filter(f -> f.getFileName().toString().matches("dstack-vpn-agent-.*\\.jar")).findFirst().orElseThrow();
        }
    }

    static List<PeerSet.Peer> peers(int n) {
        List<PeerSet.Peer> peers = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String id = String.format(Locale.ROOT, "node-%04d", i);
            String address = "10.96." + (i / 250) + "." + (i % 250 + 1);
            peers.add(new PeerSet.Peer(id, WireGuardKey.generatePrivate().publicKey().toBase64(), address,
                    "10.200." + (i / 250) + "." + (i % 250 + 1) + ":51820", "UDP", null));
        }
        return peers;
    }

    static void writePeerSet(KubernetesClient client, PeerSet set) {
        client.resource(new ConfigMapBuilder().withNewMetadata().withName(PeerSetCodec.configMapName(NET)).withNamespace(NS)
                .addToLabels(VpnLabels.NETWORK, NET).addToLabels(VpnLabels.COMPONENT, VpnLabels.COMPONENT_PEERSET).endMetadata()
                .addToData(PeerSetCodec.PEERS_KEY, PeerSetCodec.encode(set)).build()).inNamespace(NS).serverSideApply();
    }

    @FunctionalInterface
    interface Check {
        boolean ok() throws Exception;
    }

    /** Polls every 5 ms; returns System.nanoTime() at success. */
    static long until(Check check, Process p, Path log) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IllegalStateException("the agent exited: " + Files.readString(log));
            }
            try {
                if (check.ok()) {
                    return System.nanoTime();
                }
            } catch (ConnectException e) {
                // not listening yet
            }
            Thread.sleep(5);
        }
        throw new IllegalStateException("timed out; agent log: " + Files.readString(log));
    }

    HttpResponse<String> get(int port, String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The agent's own time for its last apply (diff and device), ms. */
    double lastApplyMs(int port) throws IOException, InterruptedException {
        Matcher m = LAST_APPLY.matcher(get(port, "/metrics").body());
        return m.find() ? Double.parseDouble(m.group(1)) * 1000 : Double.NaN;
    }

    long appliedGeneration(int port) throws IOException, InterruptedException {
        Matcher m = GENERATION.matcher(get(port, "/metrics").body());
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    static long procField(String file, String field) throws IOException {
        for (String line : Files.readAllLines(Path.of(file))) {
            if (line.startsWith(field)) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return 0;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static double msSince(long t0, long t1) {
        return (t1 - t0) / 1e6;
    }

    /** Nearest rank. */
    static double percentile(double[] values, int p) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[Math.max(0, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
    }

    static String loadavg() throws IOException {
        String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
        return f[0] + " " + f[1] + " " + f[2];
    }
}
