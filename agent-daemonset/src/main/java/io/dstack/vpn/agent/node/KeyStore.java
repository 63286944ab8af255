package io.dstack.vpn.agent.node;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

import io.dstack.vpn.api.wireguard.WireGuardKey;

/**
 * The node's WireGuard private key: a file on the node (0600 in a 0700 directory), created once and reused
 * across restarts, so the node keeps its identity. Only the public key ever leaves this class in a form
 * meant to be shown; error messages name the file, never its content.
 */
public final class KeyStore {
    static final String FILE = "private.key";
    private static final Set<PosixFilePermission> OWNER_RW = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> OWNER_RWX = PosixFilePermissions.fromString("rwx------");

    private final Path file;

    public KeyStore(Path directory) {
        this.file = directory.resolve(FILE);
    }

    /** Loads the key, or creates it if there is none. Refuses a key file others can read. */
    public WireGuardKey loadOrCreate() throws IOException {
        Files.createDirectories(file.getParent());
        Files.setPosixFilePermissions(file.getParent(), OWNER_RWX);
        if (Files.exists(file)) {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (!OWNER_RW.containsAll(perms)) {
                throw new IOException(file + " is readable or writable by others (" + PosixFilePermissions.toString(perms)
                        + "); fix it with chmod 600 or remove it to make a new key");
            }
            try {
                return WireGuardKey.parse(Files.readString(file, StandardCharsets.US_ASCII));
            } catch (IllegalArgumentException e) {
                throw new IOException(file + " does not hold a WireGuard key: " + e.getMessage());
            }
        }
        WireGuardKey key = WireGuardKey.generatePrivate();
        Path tmp = file.resolveSibling(FILE + ".tmp");
        Files.deleteIfExists(tmp);
        // Created with 0600 from the start: the key is never on disk with wider permissions.
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(OWNER_RW));
        Files.writeString(tmp, key.toBase64() + "\n", StandardCharsets.US_ASCII, StandardOpenOption.TRUNCATE_EXISTING);
        try {
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException raced) {
            Files.deleteIfExists(tmp);
            return loadOrCreate();
        }
        return key;
    }

    public Path file() {
        return file;
    }
}
