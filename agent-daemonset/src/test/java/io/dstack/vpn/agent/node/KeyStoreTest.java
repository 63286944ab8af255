package io.dstack.vpn.agent.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeyStoreTest {
    @Test
    void createsA0600KeyOnceAndReusesIt(@TempDir Path dir) throws Exception {
        KeyStore store = new KeyStore(dir.resolve("keys"));
        var first = store.loadOrCreate();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(store.file()))).isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(store.file().getParent()))).isEqualTo("rwx------");
        assertThat(new KeyStore(dir.resolve("keys")).loadOrCreate()).isEqualTo(first);
    }

    @Test
    void refusesAKeyOthersCanReadWithoutShowingIt(@TempDir Path dir) throws Exception {
        KeyStore store = new KeyStore(dir);
        var key = store.loadOrCreate();
        Files.setPosixFilePermissions(store.file(), PosixFilePermissions.fromString("rw-r--r--"));
        assertThatThrownBy(store::loadOrCreate).hasMessageContaining("chmod 600").hasMessageNotContaining(key.toBase64());
    }

    @Test
    void refusesGarbageWithoutEchoingIt(@TempDir Path dir) throws Exception {
        KeyStore store = new KeyStore(dir);
        Files.writeString(store.file(), "SECRET-GARBAGE");
        Files.setPosixFilePermissions(store.file(), PosixFilePermissions.fromString("rw-------"));
        assertThatThrownBy(store::loadOrCreate).hasMessageContaining("does not hold a WireGuard key").hasMessageNotContaining("SECRET-GARBAGE");
    }
}
