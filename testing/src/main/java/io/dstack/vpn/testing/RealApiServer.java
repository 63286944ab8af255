package io.dstack.vpn.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;

/**
 * One real kube-apiserver + etcd (fabric8 kube-api-test) per test JVM, with our CRDs from crds/ applied.
 * The binaries come from hack/provision-kube-binaries.sh; offline mode is set through the builder (its
 * environment switch is broken), so a missing binary fails loudly instead of reaching for the network.
 */
public final class RealApiServer {
    private static RealApiServer instance;

    private final KubeAPIServer server;
    private final KubernetesClient client;
    private final Path kubeconfig;
    private boolean stopped;
    /** etcd and kube-apiserver started again by {@link #restartApiServer}; kube-api-test only knows the first ones. */
    private final List<Process> restarted = new java.util.ArrayList<>();
    /** The etcd data put back by a restart: kube-api-test no longer knows to delete it. */
    private final List<Path> restoredDataDirs = new java.util.ArrayList<>();

    private RealApiServer() throws IOException {
        String version = System.getProperty("kube.version", "1.37.2");
        Path binaries = Path.of(System.getProperty("user.home"), ".kubeapitest", "k8s", version + "-linux-amd64");
        for (String bin : List.of("kube-apiserver", "etcd", "kubectl")) {
            if (!Files.isExecutable(binaries.resolve(bin))) {
                throw new IllegalStateException(binaries.resolve(bin) + " is missing: run hack/provision-kube-binaries.sh");
            }
        }
        server = new KubeAPIServer(KubeAPIServerConfigBuilder.anAPIServerConfig()
                .withOfflineMode(true)
                .withApiServerVersion(version)
                .withUpdateKubeConfig(false)
                .build());
        server.start();
        kubeconfig = Files.createTempFile("dstack-vpn-it-kubeconfig", ".yaml");
        Files.writeString(kubeconfig, server.getKubeConfigYaml());
        client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(server.getKubeConfigYaml())).build();
        applyCrds();
        Runtime.getRuntime().addShutdownHook(new Thread(this::stop));
    }

    public static synchronized RealApiServer get() {
        if (instance == null) {
            try {
                instance = new RealApiServer();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return instance;
    }

    public KubernetesClient client() {
        return client;
    }

    public Path kubeconfig() {
        return kubeconfig;
    }

    public Path kubectl() {
        return Path.of(System.getProperty("user.home"), ".kubeapitest", "k8s",
                System.getProperty("kube.version", "1.37.2") + "-linux-amd64", "kubectl");
    }

    public static Path repoRoot() {
        return Path.of(System.getProperty("dstack.repo.root", "..")).toAbsolutePath().normalize();
    }

    private void applyCrds() throws IOException {
        try (var files = Files.list(repoRoot().resolve("crds"))) {
            for (Path crd : files.filter(f -> f.toString().endsWith(".yml") || f.toString().endsWith(".yaml")).sorted().toList()) {
                try (var in = Files.newInputStream(crd)) {
                    for (HasMetadata item : client.load(in).items()) {
                        client.resource(item).serverSideApply();
                    }
                }
            }
        }
        // The API server needs a moment before a new CRD's endpoints serve.
        long deadline = System.currentTimeMillis() + 30_000;
        while (System.currentTimeMillis() < deadline) {
            try {
                client.resources(io.dstack.vpn.api.v1alpha1.VpnNetwork.class).inAnyNamespace().list();
                client.resources(io.dstack.vpn.api.v1alpha1.VpnPeer.class).inAnyNamespace().list();
                return;
            } catch (RuntimeException notYet) {
                sleep(200);
            }
        }
        throw new IllegalStateException("CRDs from crds/ were not served within 30 s");
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Restarts the control plane's storage and API server as a crash would, keeping every object: etcd is
     * frozen (SIGSTOP) and its data directory copied, then etcd is killed, which makes kube-api-test stop the
     * API server and delete the data; after {@code downtime} the copy is put back and etcd and kube-apiserver are
     * started again with their original command lines, environments and working directories. Returns once the
     * API server serves again. Clients see connections reset and watches end, as in a real restart.
     */
    public synchronized void restartApiServer(Duration downtime) throws IOException, InterruptedException {
        ProcessHandle etcd = child("/etcd");
        ProcessHandle apiserver = child("/kube-apiserver");
        Launch etcdLaunch = Launch.of(etcd);
        Launch apiLaunch = Launch.of(apiserver);
        // kube-api-test keeps etcd's data and write-ahead log in two temp dirs: both are saved and put back.
        List<Path> dirs = List.of(Path.of(etcdLaunch.option("data-dir")), Path.of(etcdLaunch.option("wal-dir")));
        List<Path> backups = new java.util.ArrayList<>();
        signal(etcd.pid(), "STOP");
        for (Path dir : dirs) {
            Path backup = Files.createTempDirectory("dstack-vpn-etcd-backup");
            copyTree(dir, backup);
            backups.add(backup);
        }
        etcd.destroyForcibly(); // SIGKILL ends a stopped process too
        etcd.onExit().join();
        apiserver.onExit().join(); // kube-api-test stops the API server when etcd dies...
        Thread.sleep(downtime.toMillis());
        for (int i = 0; i < dirs.size(); i++) {
            deleteTree(dirs.get(i)); // ...and deletes the data, unless it has not got that far
            copyTree(backups.get(i), dirs.get(i));
            deleteTree(backups.get(i));
        }
        restoredDataDirs.addAll(dirs);
        restarted.add(etcdLaunch.start());
        restarted.add(apiLaunch.start());
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                client.namespaces().list();
                return;
            } catch (RuntimeException notYet) {
                sleep(200);
            }
        }
        throw new IllegalStateException("kube-apiserver did not serve within 60 s of its restart");
    }

    private static ProcessHandle child(String commandSuffix) {
        return ProcessHandle.current().descendants()
                .filter(p -> p.info().command().map(c -> c.endsWith(commandSuffix)).orElse(false))
                .findFirst().orElseThrow(() -> new IllegalStateException("no " + commandSuffix + " process below this JVM"));
    }

    /** How a running process was started, read from /proc, to start it again the same way. */
    private record Launch(List<String> command, Map<String, String> env, Path cwd) {
        static Launch of(ProcessHandle p) throws IOException {
            Path proc = Path.of("/proc", Long.toString(p.pid()));
            List<String> command = List.of(new String(Files.readAllBytes(proc.resolve("cmdline")), StandardCharsets.UTF_8).split("\0"));
            Map<String, String> env = new HashMap<>();
            for (String entry : new String(Files.readAllBytes(proc.resolve("environ")), StandardCharsets.UTF_8).split("\0")) {
                int eq = entry.indexOf('=');
                if (eq > 0) {
                    env.put(entry.substring(0, eq), entry.substring(eq + 1));
                }
            }
            return new Launch(command, env, proc.resolve("cwd").toRealPath());
        }

        /** The value of option {@code name}, written -name or --name, with a space or '='. */
        String option(String name) {
            for (int i = 0; i < command.size(); i++) {
                String arg = command.get(i).replaceFirst("^--?", "");
                if (arg.equals(name) && i + 1 < command.size()) {
                    return command.get(i + 1);
                }
                if (arg.startsWith(name + "=")) {
                    return arg.substring(name.length() + 1);
                }
            }
            throw new IllegalStateException(name + " not on the command line " + command);
        }

        Process start() throws IOException {
            Path log = Files.createTempFile("dstack-vpn-restarted-" + Path.of(command.get(0)).getFileName(), ".log");
            ProcessBuilder pb = new ProcessBuilder(command).directory(cwd.toFile()).redirectErrorStream(true)
                    .redirectOutput(log.toFile());
            pb.environment().clear();
            pb.environment().putAll(env);
            return pb.start();
        }
    }

    private static void signal(long pid, String signal) throws IOException, InterruptedException {
        if (new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).start().waitFor() != 0) {
            throw new IOException("kill -" + signal + " " + pid + " failed");
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (var paths = Files.walk(from)) {
            for (Path p : paths.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** Stops etcd and the API server; idempotent (also runs as a shutdown hook). */
    public synchronized void stop() {
        if (stopped) {
            return;
        }
        stopped = true;
        try {
            client.close();
        } finally {
            for (Process p : restarted.reversed()) { // the API server before etcd
                p.destroy();
                try {
                    p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                p.destroyForcibly();
            }
            server.stop();
            for (Path dir : restoredDataDirs) {
                try {
                    deleteTree(dir);
                } catch (IOException e) {
                    System.err.println("could not delete " + dir + ": " + e.getMessage());
                }
            }
        }
    }

    /** Stops the shared instance, if one was started. */
    public static synchronized void shutdown() {
        if (instance != null) {
            instance.stop();
        }
    }
}
