package io.dstack.vpn.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How the replication test finds Debian's PostgreSQL binaries without a fixed version, and fails when it cannot. */
class PostgresBinariesTest {
    @TempDir
    Path root;

    void major(String version, String... tools) throws IOException {
        Path bin = Files.createDirectories(root.resolve(version).resolve("bin"));
        for (String t : tools) {
            Files.createFile(bin.resolve(t), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        }
    }

    void complete(String version) throws IOException {
        major(version, PostgresBinaries.TOOLS.toArray(String[]::new));
    }

    @Test
    void theNewestCompleteMajorWinsNumerically() throws IOException {
        complete("9");
        complete("16");
        complete("15");
        major("17", "psql"); // a client-only install of a newer major
        assertThat(PostgresBinaries.require(root).bin()).isEqualTo(root.resolve("16").resolve("bin"));
    }

    @Test
    void noServerIsAFailureThatSaysHowToInstallIt() throws IOException {
        major("15", "psql", "pg_basebackup");
        assertThatThrownBy(() -> PostgresBinaries.require(root)).isInstanceOf(AssertionError.class)
                .hasMessageContaining(PostgresBinaries.INSTALL).hasMessageContaining("does not skip");
        assertThatThrownBy(() -> PostgresBinaries.require(root.resolve("absent"))).isInstanceOf(AssertionError.class)
                .hasMessageContaining(PostgresBinaries.INSTALL);
    }
}
