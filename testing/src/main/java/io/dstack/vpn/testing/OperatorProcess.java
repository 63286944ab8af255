package io.dstack.vpn.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The operator as users run it: the packaged Quarkus app in its own JVM, talking to the real API server
 * through a kubeconfig. Restarting it is a real restart: nothing survives but what is in the API server.
 */
public final class OperatorProcess implements AutoCloseable {
    private final Process process;
    private final int httpPort;
    private final Path log;

    private OperatorProcess(Process process, int httpPort, Path log) {
        this.process = process;
        this.httpPort = httpPort;
        this.log = log;
    }

    /**
     * Where the operator may send RPC requests in tests and the demo: anvil runs on loopback, which the operator
     * denies by default (docs/adr/0010-rpc-destinations.md).
     */
    public static final String LOOPBACK_RPC_ALLOWED = "127.0.0.1/32";

    public static OperatorProcess start(Path kubeconfig, String namespace) throws IOException {
        return start(kubeconfig, namespace, java.util.Map.of());
    }

    /** @param env extra environment, over the defaults (for example {@code DSTACK_CHAIN_RPC_ALLOW}) */
    public static OperatorProcess start(Path kubeconfig, String namespace, java.util.Map<String, String> env) throws IOException {
        Path jar = RealApiServer.repoRoot().resolve("operator/target/quarkus-app/quarkus-run.jar");
        if (!Files.exists(jar)) {
            throw new IllegalStateException(jar + " is missing: run the package phase first (mvnw verify does)");
        }
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path log = Files.createTempFile("dstack-vpn-operator", ".log");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx256m");
        cmd.add("-jar");
        cmd.add(jar.toString());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("KUBECONFIG", kubeconfig.toString());
        pb.environment().put("HTTP_PORT", Integer.toString(port));
        pb.environment().put("POD_NAMESPACE", namespace);
        // Each test's operator watches its own namespace only: tests share one API server, and a network
        // left by another test (its chain long gone) must not show up in this one's logs.
        pb.environment().put("QUARKUS_OPERATOR_SDK_NAMESPACES", namespace);
        pb.environment().put("DSTACK_CHAIN_RPC_ALLOW", LOOPBACK_RPC_ALLOWED);
        pb.environment().putAll(env);
        long t0 = System.nanoTime();
        OperatorProcess op = new OperatorProcess(pb.start(), port, log);
        op.awaitReady(Duration.ofSeconds(60));
        // docs/benchmarks.md quotes this line ("Tooling costs"); the readiness poll's 200 ms sleep is its grain.
        System.out.printf(java.util.Locale.ROOT, "operator pid %d ready in %d ms (spawn -> /q/health/ready 200)%n",
                op.pid(), (System.nanoTime() - t0) / 1_000_000);
        return op;
    }

    public String get(String path) throws IOException, InterruptedException {
        HttpResponse<String> r = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.statusCode() + "\n" + r.body();
    }

    private void awaitReady(Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("operator exited with " + process.exitValue() + ":\n" + log());
            }
            try {
                if (get("/q/health/ready").startsWith("200")) {
                    return;
                }
            } catch (IOException | InterruptedException notYet) {
                // not listening yet
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        close();
        throw new IllegalStateException("operator not ready within " + timeout + ":\n" + log());
    }

    public String log() throws IOException {
        return Files.readString(log);
    }

    /** The operator JVM's process id. */
    public long pid() {
        return process.pid();
    }

    /**
     * The operator's resident set size in KiB ({@code VmRSS} in {@code /proc/<pid>/status}), or -1 when the
     * process is gone or the file cannot be read (not Linux).
     */
    public long rssKiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.substring(6).replace("kB", "").strip());
                }
            }
        } catch (IOException | NumberFormatException gone) {
            // exited between the check and the read, or no procfs
        }
        return -1;
    }

    /**
     * Writes a thread dump into the operator's log (SIGQUIT: the JVM prints every thread's stack to stdout and
     * goes on) and returns the log's last {@code lines} lines: what a test prints when it gives up waiting.
     */
    public String threadDumpAndLogTail(int lines) throws IOException, InterruptedException {
        if (process.isAlive()) {
            new ProcessBuilder("kill", "-QUIT", Long.toString(process.pid())).inheritIO().start().waitFor();
            Thread.sleep(500); // the dump is written by the JVM's signal thread
        }
        List<String> all = Files.readAllLines(log);
        return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    }

    /** SIGKILL, as a node crash or an OOM kill ends a pod: no shutdown hook runs, the Lease is not released. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    /**
     * SIGTERM, as Kubernetes stops a pod, with 30 s of grace (the pod default) before SIGKILL.
     *
     * @return true if the operator exited by itself within the grace period
     */
    public boolean stop() throws InterruptedException {
        process.destroy();
        if (process.waitFor(30, TimeUnit.SECONDS)) {
            return true;
        }
        process.destroyForcibly().waitFor();
        return false;
    }

    @Override
    public void close() {
        try {
            if (process.isAlive()) {
                stop();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
