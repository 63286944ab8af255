package io.dstack.vpn.e2e;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import io.dstack.vpn.testing.SimulatedNode;

/**
 * One PostgreSQL server inside a simulated node's network namespace, run as the {@code postgres} OS user (the
 * server refuses root) from a directory the test owns: {@code data/}, {@code socket/} (its unix socket, where the
 * test's own psql connects; TCP is on the node's overlay address only) and {@code server.log}. The postmaster runs in
 * the foreground as a child of the test ({@code ip netns exec} and {@code setpriv} exec it), so its PID is known and
 * {@link #close()} stops exactly that process tree, then deletes exactly that directory.
 */
final class PostgresServer implements AutoCloseable {
    static final int PORT = 5432;
    /** The role the replica connects as; {@code pg_hba.conf} admits it only from the overlay range. */
    static final String REPLICATION_ROLE = "replicator";
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

    private final PostgresBinaries pg;
    private final SimulatedNode node;
    private final String overlayAddress;
    private final Path dir;
    /** Stops the server and deletes its directory if the test never called close (Ctrl-C, say). */
    private final Thread shutdownHook = new Thread(this::stopAndDelete, "postgres-server-cleanup");
    private Process postmaster;

    private PostgresServer(PostgresBinaries pg, SimulatedNode node, String overlayAddress, Path dir) {
        this.pg = pg;
        this.node = node;
        this.overlayAddress = overlayAddress;
        this.dir = dir;
    }

    /** Creates the server's directory (owned by the postgres user, mode 0700); nothing runs yet. */
    static PostgresServer in(PostgresBinaries pg, SimulatedNode node, String overlayAddress) throws IOException {
        Path dir = Files.createTempDirectory("dvpg-" + node.name() + "-");
        PostgresServer server = new PostgresServer(pg, node, overlayAddress, dir);
        Runtime.getRuntime().addShutdownHook(server.shutdownHook);
        server.ownedByPostgres(dir);
        Files.createDirectory(server.socketDir());
        server.ownedByPostgres(server.socketDir());
        return server;
    }

    Path dir() {
        return dir;
    }

    Path data() {
        return dir.resolve("data");
    }

    private Path socketDir() {
        return dir.resolve("socket");
    }

    /**
     * A new primary: initdb, a {@code pg_hba.conf} that admits the replication role only from {@code overlayCidr}
     * (and nothing else over TCP), and the settings that make a silent standby visible within seconds.
     */
    void initPrimary(String overlayCidr) throws IOException {
        runChecked(null, pg.tool("initdb"), "-D", data().toString(), "-U", "postgres", "--auth-local=peer",
                "--auth-host=reject", "--encoding=UTF8", "--locale=C", "--no-sync");
        Files.writeString(data().resolve("pg_hba.conf"), """
                # PostgresReplicationIT: local admin by peer; over TCP only the replication role, only from the overlay.
                local   all          postgres                  peer
                host    replication  %s  %s  scram-sha-256
                """.formatted(REPLICATION_ROLE, overlayCidr));
        Files.writeString(data().resolve("postgresql.conf"), """

                # PostgresReplicationIT
                wal_level = replica
                max_wal_senders = 4
                max_replication_slots = 4
                shared_buffers = '16MB'
                # A walsender whose standby went silent (its node revoked) ends after 3 s; keepalives and a TCP user
                # timeout end the socket too, instead of the kernel's minutes of retransmissions.
                wal_sender_timeout = '3s'
                tcp_keepalives_idle = 1
                tcp_keepalives_interval = 1
                tcp_keepalives_count = 3
                tcp_user_timeout = 3000
                # Standby side (pg_basebackup copies this file): report every second, give up on a silent primary
                # after 3 s, retry every second.
                wal_receiver_status_interval = '1s'
                wal_receiver_timeout = '3s'
                wal_retrieve_retry_interval = '1s'
                log_replication_commands = on
                """, java.nio.file.StandardOpenOption.APPEND);
        listenOnlyOnTheOverlay();
    }

    /**
     * A new replica: {@code pg_basebackup -R} from the primary's overlay address as the replication role, through a
     * 0600 passfile (the password is never on a command line), creating the physical replication slot
     * {@code slot} so the primary keeps the WAL the replica has not received, however long it is cut off.
     */
    void initReplicaOf(String primaryAddress, String password, String slot) throws IOException {
        Path passfile = dir.resolve("pgpass");
        Files.writeString(passfile, primaryAddress + ":" + PORT + ":*:" + REPLICATION_ROLE + ":" + password + "\n");
        ownedByPostgres(passfile);
        Files.setPosixFilePermissions(passfile, PosixFilePermissions.fromString("rw-------"));
        // -R writes these into primary_conninfo: the walreceiver reconnects with the same timeouts and keepalives.
        String conninfo = "host=" + primaryAddress + " port=" + PORT + " user=" + REPLICATION_ROLE + " passfile=" + passfile
                + " application_name=" + node.name() + " connect_timeout=2 keepalives=1 keepalives_idle=1"
                + " keepalives_interval=1 keepalives_count=3 tcp_user_timeout=3000";
        runChecked(null, pg.tool("pg_basebackup"), "-D", data().toString(), "-R", "-X", "stream", "-C", "-S", slot,
                "-c", "fast", "--no-sync", "-d", conninfo);
        listenOnlyOnTheOverlay(); // the copied postgresql.conf names the primary's address and socket directory
    }

    private void listenOnlyOnTheOverlay() throws IOException {
        Files.writeString(data().resolve("postgresql.conf"), """
                listen_addresses = '%s'
                port = %d
                unix_socket_directories = '%s'
                """.formatted(overlayAddress, PORT, socketDir()), java.nio.file.StandardOpenOption.APPEND);
    }

    /** Starts the postmaster in the node's namespace and waits until it answers on its unix socket. */
    void start() throws IOException {
        if (postmaster != null && postmaster.isAlive()) {
            throw new IllegalStateException("already running in " + node.netns());
        }
        postmaster = processBuilder(List.of(pg.tool("postgres"), "-D", data().toString()))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("server.log").toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (true) {
            if (!postmaster.isAlive()) {
                throw new IllegalStateException("postgres in " + node.netns() + " exited " + postmaster.exitValue() + "; log:\n" + log());
            }
            if (run("select 1", psql()).exitCode() == 0) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("postgres in " + node.netns() + " not ready within " + START_TIMEOUT + "; log:\n" + log());
            }
            sleep(100);
        }
    }

    /** Runs {@code sql} as the postgres superuser over the unix socket; returns the unaligned, tuples-only output. */
    String sql(String sql) {
        Result r = run(sql, psql());
        if (r.exitCode() != 0) {
            throw new IllegalStateException("psql in " + node.netns() + " exited " + r.exitCode() + ": " + r.output().strip());
        }
        return r.output().strip();
    }

    /**
     * Runs psql as the postgres OS user inside this node's namespace against {@code conninfo} (a TCP destination),
     * for checks that a connection is refused; returns exit code and output, never throws on failure.
     */
    Result tryConnect(String conninfo) {
        return run("select 1", List.of(pg.tool("psql"), "-X", "-q", "-A", "-t", "-d", conninfo));
    }

    private List<String> psql() {
        return List.of(pg.tool("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", socketDir().toString(),
                "-p", Integer.toString(PORT), "-U", "postgres", "-d", "postgres");
    }

    String log() {
        try {
            Path log = dir.resolve("server.log");
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    /**
     * Fast shutdown (SIGINT) of the recorded postmaster, SIGKILL to it and its children after 10 s; then deletes the
     * server's directory. Safe to call twice, and after a failed start.
     */
    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // The JVM is already shutting down: the hook runs (or ran) the same cleanup.
        }
        stopAndDelete();
    }

    private synchronized void stopAndDelete() {
        if (postmaster != null && postmaster.isAlive()) {
            List<ProcessHandle> children = postmaster.descendants().toList();
            try {
                new ProcessBuilder("kill", "-INT", Long.toString(postmaster.pid())).start().waitFor(5, TimeUnit.SECONDS);
                if (!postmaster.waitFor(10, TimeUnit.SECONDS)) {
                    postmaster.destroyForcibly();
                    postmaster.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (IOException e) {
                postmaster.destroyForcibly();
            } catch (InterruptedException e) {
                postmaster.destroyForcibly();
                Thread.currentThread().interrupt();
            }
            children.forEach(ProcessHandle::destroyForcibly);
        }
        deleteRecursively(dir);
    }

    // --- running programs as the postgres user inside the namespace ---------------------------------------------

    record Result(int exitCode, String output) {
    }

    private void runChecked(String stdin, String... command) {
        Result r = run(stdin, List.of(command));
        if (r.exitCode() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " in " + node.netns() + " exited " + r.exitCode() + ": " + r.output().strip());
        }
    }

    /**
     * {@code ip netns exec <ns> setpriv --reuid postgres ... <command>} in the server's directory (the postgres user
     * must be able to read its working directory), with a clean environment; {@code stdin} is written and closed.
     * Kills the command on timeout: a hung step fails the test instead of hanging it.
     */
    private Result run(String stdin, List<String> command) {
        Process p;
        try {
            p = processBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command.getFirst(), e);
        }
        AtomicReference<byte[]> out = new AtomicReference<>(new byte[0]);
        Thread reader = Thread.ofVirtual().start(() -> {
            try (InputStream in = p.getInputStream()) {
                out.set(in.readAllBytes());
            } catch (IOException ignored) {
                // killed: keep what we have
            }
        });
        try (OutputStream in = p.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            // The command exited without reading its input; its exit code tells why.
        }
        try {
            if (!p.waitFor(COMMAND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new IllegalStateException(command.getFirst() + " in " + node.netns() + " timed out after " + COMMAND_TIMEOUT);
            }
            reader.join(COMMAND_TIMEOUT.toMillis());
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        return new Result(p.exitValue(), new String(out.get(), StandardCharsets.UTF_8));
    }

    private ProcessBuilder processBuilder(List<String> command) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", node.netns(), "setpriv",
                "--reuid", PostgresBinaries.OS_USER, "--regid", PostgresBinaries.OS_USER, "--init-groups"));
        full.addAll(command);
        ProcessBuilder b = new ProcessBuilder(full).directory(dir.toFile());
        Map<String, String> env = b.environment();
        env.keySet().removeIf(k -> k.startsWith("PG")); // no stray PGHOST, PGPASSWORD, ... from the caller
        env.put("HOME", dir.toString());
        env.put("LC_ALL", "C");
        return b;
    }

    private void ownedByPostgres(Path path) throws IOException {
        UserPrincipalLookupService users = FileSystems.getDefault().getUserPrincipalLookupService();
        Files.setOwner(path, users.lookupPrincipalByName(PostgresBinaries.OS_USER));
        GroupPrincipal group = users.lookupPrincipalByGroupName(PostgresBinaries.OS_USER);
        Files.getFileAttributeView(path, PosixFileAttributeView.class).setGroup(group);
        if (Files.isDirectory(path)) {
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rwx------"));
        }
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir, e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
