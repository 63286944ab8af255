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
import java.util.concurrent.atomic.AtomicLong;

/**
 * A real anvil (Foundry's local Ethereum node, 1.7.1 from npm) for tests: its own process on a free loopback
 * port, with the PID kept so that tests can freeze it (SIGSTOP), thaw it (SIGCONT) or kill it to simulate an
 * RPC outage. Anvil has no error injection of its own; reorgs and snapshots go through {@link #rpc}
 * ({@code anvil_reorg}, {@code anvil_rollback}, {@code evm_snapshot}/{@code evm_revert}, {@code anvil_mine},
 * {@code evm_setAutomine}).
 *
 * <p>The binary is the native one from {@code contracts/node_modules} ({@code hack/install-chain-tools.sh}
 * installs it), run directly rather than through npm's node wrapper, which does not pass signals on.
 *
 * <p>Accounts: anvil's default mnemonic ("test test ... junk") funds ten well-known accounts with
 * 10,000 ETH each; they are unlocked, so {@code eth_sendTransaction} from them needs no signature. The first
 * three are below. They are public test keys: never use them on a real network.
 */
public final class Anvil implements AutoCloseable {

    /** Default account 0: the deployer and contract owner in tests. Public test key. */
    public static final String ACCOUNT_0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
    public static final String PRIVATE_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    /** Default account 1. Public test key. */
    public static final String ACCOUNT_1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    public static final String PRIVATE_KEY_1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    /** Default account 2. Public test key. */
    public static final String ACCOUNT_2 = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
    public static final String PRIVATE_KEY_2 = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";

    /** Base mainnet's chain id, anvil's default here. */
    public static final long BASE_CHAIN_ID = 8453;

    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration RPC_TIMEOUT = Duration.ofSeconds(10);

    /**
     * How to start anvil.
     *
     * @param blockTime     seconds between blocks; {@code null} for automine (a block per transaction, at once)
     * @param chainId       chain id; {@code null} for {@link #BASE_CHAIN_ID}
     * @param stateFile     {@code --state FILE}: load the chain from FILE if it exists and dump it there on a clean
     *                      exit (SIGTERM); {@code null} for none
     * @param extraArgs     further anvil arguments, appended as given (for example {@code "--hardfork", "cancun"})
     * @param blockInterval time between blocks with sub-second precision (anvil takes {@code --block-time 0.2});
     *                      when set, it is used instead of {@code blockTime}
     * @param port          the loopback port to listen on (to restart anvil where a client expects it); {@code null}
     *                      for a free one
     */
    public record Options(Integer blockTime, Long chainId, Path stateFile, List<String> extraArgs, Duration blockInterval, Integer port) {
        public Options {
            extraArgs = extraArgs == null ? List.of() : List.copyOf(extraArgs);
        }

        /** The options before sub-second block times and fixed ports. */
        public Options(Integer blockTime, Long chainId, Path stateFile, List<String> extraArgs) {
            this(blockTime, chainId, stateFile, extraArgs, null, null);
        }

        /** Automine, chain id 8453, no state file. */
        public static Options defaults() {
            return new Options(null, null, null, List.of());
        }

        public Options withBlockTime(Integer seconds) {
            return new Options(seconds, chainId, stateFile, extraArgs, null, port);
        }

        /** A block every {@code interval} (millisecond precision, for example 200 ms). */
        public Options withBlockTime(Duration interval) {
            return new Options(null, chainId, stateFile, extraArgs, interval, port);
        }

        public Options withChainId(Long id) {
            return new Options(blockTime, id, stateFile, extraArgs, blockInterval, port);
        }

        public Options withStateFile(Path file) {
            return new Options(blockTime, chainId, file, extraArgs, blockInterval, port);
        }

        public Options withExtraArgs(List<String> args) {
            return new Options(blockTime, chainId, stateFile, args, blockInterval, port);
        }

        /** Listen on this port: to restart anvil where its clients expect it. */
        public Options withPort(Integer p) {
            return new Options(blockTime, chainId, stateFile, extraArgs, blockInterval, p);
        }

        /** The {@code --block-time} argument, or null for automine. */
        String blockTimeArgument() {
            if (blockInterval != null) {
                return java.math.BigDecimal.valueOf(blockInterval.toMillis(), 3).stripTrailingZeros().toPlainString();
            }
            return blockTime == null ? null : Integer.toString(blockTime);
        }
    }

    private final Process process;
    private final int port;
    private final Path log;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final AtomicLong ids = new AtomicLong();

    private Anvil(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    /** Starts anvil with {@link Options#defaults()}. */
    public static Anvil start() throws IOException {
        return start(Options.defaults());
    }

    /** Starts anvil and returns once it answers {@code eth_chainId}. */
    public static Anvil start(Options options) throws IOException {
        Path binary = binary();
        int port = options.port() == null ? freePort() : options.port();
        Path log = Files.createTempFile("dstack-vpn-anvil", ".log");
        List<String> cmd = new ArrayList<>();
        cmd.add(binary.toString());
        cmd.add("--host");
        cmd.add("127.0.0.1");
        cmd.add("--port");
        cmd.add(Integer.toString(port));
        cmd.add("--chain-id");
        cmd.add(Long.toString(options.chainId() == null ? BASE_CHAIN_ID : options.chainId()));
        if (options.blockTimeArgument() != null) {
            cmd.add("--block-time");
            cmd.add(options.blockTimeArgument());
        }
        if (options.stateFile() != null) {
            cmd.add("--state");
            cmd.add(options.stateFile().toAbsolutePath().toString());
        }
        cmd.addAll(options.extraArgs());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Anvil anvil = new Anvil(p, port, log);
        anvil.awaitReady(START_TIMEOUT);
        return anvil;
    }

    /** The anvil binary: {@code <repo>/contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil}. */
    public static Path binary() {
        Path bin = repoRoot().resolve("contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
        if (!Files.isExecutable(bin)) {
            throw new IllegalStateException("anvil not found at " + bin
                    + ": run hack/install-chain-tools.sh (it installs anvil 1.7.1 from npm into contracts/node_modules)");
        }
        return bin;
    }

    /**
     * The repository root: system property {@code dstack.repo.root} if set; otherwise the nearest directory,
     * from the working directory upwards, that holds {@code contracts/package.json} (tests run from a
     * module directory, tools from the root); otherwise the working directory.
     */
    static Path repoRoot() {
        String prop = System.getProperty("dstack.repo.root");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop).toAbsolutePath().normalize();
        }
        Path cwd = Path.of("").toAbsolutePath().normalize();
        for (Path d = cwd; d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("contracts/package.json"))) {
                return d;
            }
        }
        return cwd;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 0, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private void awaitReady(Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("anvil exited with " + process.exitValue() + " before answering; log "
                        + log + ":\n" + log());
            }
            try {
                if (send("eth_chainId", "[]", Duration.ofSeconds(1)).contains("\"result\"")) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        close();
        throw new IllegalStateException("anvil did not answer eth_chainId within " + timeout + "; log " + log
                + ":\n" + log());
    }

    /** {@code http://127.0.0.1:<port>}. */
    public String rpcUrl() {
        return "http://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    public long pid() {
        return process.pid();
    }

    /** Anvil's stdout and stderr. */
    public Path logFile() {
        return log;
    }

    public String log() throws IOException {
        return Files.readString(log);
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /**
     * One JSON-RPC call; returns the raw response body, result or error (for example
     * {@code rpc("anvil_mine", "[\"0x5\"]")}, {@code rpc("evm_snapshot", "[]")},
     * {@code rpc("anvil_reorg", "[3, []]")}), with a 10 s timeout.
     *
     * @param paramsJson the params as a JSON array; {@code null} for {@code []}
     */
    public String rpc(String method, String paramsJson) throws IOException {
        return rpc(method, paramsJson, RPC_TIMEOUT);
    }

    /** {@link #rpc(String, String)} with its own timeout (a paused anvil never answers). */
    public String rpc(String method, String paramsJson, Duration timeout) throws IOException {
        try {
            return send(method, paramsJson == null ? "[]" : paramsJson, timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted during " + method, e);
        }
    }

    private String send(String method, String paramsJson, Duration timeout) throws IOException, InterruptedException {
        String body = "{\"jsonrpc\":\"2.0\",\"id\":" + ids.incrementAndGet() + ",\"method\":\"" + method
                + "\",\"params\":" + paramsJson + "}";
        HttpRequest req = HttpRequest.newBuilder(URI.create(rpcUrl()))
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IOException(method + ": HTTP " + r.statusCode() + ": " + r.body());
        }
        return r.body();
    }

    /** Freezes anvil (SIGSTOP): connections are accepted by the kernel but nothing answers. */
    public void pause() throws IOException {
        signal("STOP");
    }

    /** Thaws anvil after {@link #pause()} (SIGCONT). */
    public void resume() throws IOException {
        signal("CONT");
    }

    private void signal(String sig) throws IOException {
        try {
            int rc = new ProcessBuilder("kill", "-" + sig, Long.toString(process.pid()))
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
            if (rc != 0) {
                throw new IOException("kill -" + sig + " " + process.pid() + " exited with " + rc);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted sending SIG" + sig, e);
        }
    }

    /**
     * SIGTERM (anvil then dumps {@code --state}, if given), then SIGKILL after 5 s. A paused anvil is resumed
     * first so that it can act on the SIGTERM.
     *
     * @return true if anvil exited within the grace period
     */
    public boolean stop() throws InterruptedException {
        if (!process.isAlive()) {
            return true;
        }
        process.destroy();
        try {
            signal("CONT");
        } catch (IOException ignored) {
            // it may already be gone
        }
        if (process.waitFor(5, TimeUnit.SECONDS)) {
            return true;
        }
        process.destroyForcibly().waitFor();
        return false;
    }

    /** Kills anvil at once (SIGKILL): nothing is dumped. */
    public void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    @Override
    public void close() {
        try {
            stop();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
