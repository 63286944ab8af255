package io.dstack.vpn.e2e;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Debian's PostgreSQL server binaries, installed by {@code hack/install-postgres.sh} (which {@code make test} runs
 * through the bootstrap): the newest {@code /usr/lib/postgresql/<major>/bin} holding every tool the test uses, found
 * by listing that directory, never by a fixed version. {@link #require()} fails, never skips, when they or the
 * {@code postgres} OS user (the server refuses to run as root) are missing, so CI cannot pass without having
 * replicated across the overlay.
 */
final class PostgresBinaries {
    static final String INSTALL = "hack/install-postgres.sh";
    static final Path ROOT = Path.of("/usr/lib/postgresql");
    static final List<String> TOOLS = List.of("initdb", "postgres", "pg_basebackup", "psql");
    /** The OS user Debian's package creates; the test runs every PostgreSQL program as this user. */
    static final String OS_USER = "postgres";

    private final Path bin;

    private PostgresBinaries(Path bin) {
        this.bin = bin;
    }

    /** The binaries, or an AssertionError that says how to install them. */
    static PostgresBinaries require() {
        return require(ROOT);
    }

    /** {@link #require()} with another directory in place of {@code /usr/lib/postgresql} (for its own test). */
    static PostgresBinaries require(Path root) {
        Path bin = newestCompleteBin(root).orElseThrow(() -> new AssertionError("no " + root + "/<major>/bin with "
                + String.join(", ", TOOLS) + ": run " + INSTALL + " (the PostgreSQL replication test does not skip)"));
        try {
            FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByName(OS_USER);
        } catch (UserPrincipalNotFoundException e) {
            throw new AssertionError("no OS user '" + OS_USER + "' to run PostgreSQL as: run " + INSTALL);
        } catch (IOException e) {
            throw new AssertionError("cannot look up the OS user '" + OS_USER + "': " + e.getMessage(), e);
        }
        return new PostgresBinaries(bin);
    }

    private static Optional<Path> newestCompleteBin(Path root) {
        if (!Files.isDirectory(root)) {
            return Optional.empty();
        }
        try (Stream<Path> versions = Files.list(root)) {
            return versions.filter(v -> v.getFileName().toString().matches("\\d+"))
                    .filter(v -> TOOLS.stream().allMatch(t -> Files.isExecutable(v.resolve("bin").resolve(t))))
                    .max(Comparator.comparingInt(v -> Integer.parseInt(v.getFileName().toString())))
                    .map(v -> v.resolve("bin"));
        } catch (IOException e) {
            throw new AssertionError("cannot list " + root + ": " + e.getMessage(), e);
        }
    }

    String tool(String name) {
        if (!TOOLS.contains(name)) {
            throw new IllegalArgumentException("not a tool require() checked: " + name);
        }
        return bin.resolve(name).toString();
    }

    Path bin() {
        return bin;
    }
}
