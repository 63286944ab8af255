package io.dstack.vpn.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

/**
 * A file holding a secret (a private key, a keystore password), read only when no one but its owner can read or
 * change it: a key that other users could see is as good as leaked, and one they could write could be swapped.
 * Messages name the file, never its content.
 */
final class SecretFile {
    private static final Set<PosixFilePermission> OWNER_ONLY = Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
            PosixFilePermission.OWNER_EXECUTE);

    static String read(Path path, String what) {
        Set<PosixFilePermission> permissions;
        try {
            permissions = Files.getPosixFilePermissions(path);
        } catch (UnsupportedOperationException e) {
            throw new CliException(ExitCodes.CONFIG, "cannot check who may read " + what + " " + path + " (no POSIX permissions on this file system)");
        } catch (IOException e) {
            throw new CliException(ExitCodes.CONFIG, "cannot read " + what + " " + path + ": " + e.getClass().getSimpleName());
        }
        if (!OWNER_ONLY.containsAll(permissions)) {
            throw new CliException(ExitCodes.CONFIG, what + " " + path + " is accessible to group or others: chmod 600 " + path);
        }
        try {
            return Files.readString(path, StandardCharsets.UTF_8);
        } catch (IOException e) {
            // The exception's own message could quote bytes of the file (malformed input): name the kind only.
            throw new CliException(ExitCodes.CONFIG, "cannot read " + what + " " + path + ": " + e.getClass().getSimpleName());
        }
    }

    private SecretFile() {
    }
}
