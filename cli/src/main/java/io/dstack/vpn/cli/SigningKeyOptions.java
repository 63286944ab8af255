package io.dstack.vpn.cli;

import java.nio.file.Path;
import java.util.Map;

import org.web3j.crypto.Credentials;

import picocli.CommandLine.Option;

/**
 * Where a write command finds the contract owner's key, first found wins: {@code --private-key-file},
 * {@code --keystore}, then the PRIVATE_KEY variable (kept for scripts; a file is safer, since the environment of
 * a process can be read by others running as the same user and often ends up in shell history or CI logs).
 */
class SigningKeyOptions {
    @Option(names = "--private-key-file", paramLabel = "PATH",
            description = "file holding the contract owner's key (64 hex digits); refused unless only its owner has access (chmod 600)")
    Path privateKeyFile;

    @Option(names = "--keystore", paramLabel = "PATH", description = "Ethereum JSON keystore (geth/web3j) holding the owner's key")
    Path keystore;

    @Option(names = "--keystore-password-file", paramLabel = "PATH",
            description = "file holding the keystore's password (chmod 600); default: env DSTACK_KEYSTORE_PASSWORD")
    Path keystorePasswordFile;

    Credentials credentials(Map<String, String> env) {
        if (privateKeyFile != null && keystore != null) {
            throw new CliException(ExitCodes.USAGE, "give --private-key-file or --keystore, not both");
        }
        if (keystorePasswordFile != null && keystore == null) {
            throw new CliException(ExitCodes.USAGE, "--keystore-password-file needs --keystore");
        }
        if (privateKeyFile != null) {
            return SigningKey.fromFile(privateKeyFile);
        }
        if (keystore != null) {
            return SigningKey.fromKeystore(keystore, keystorePassword(env));
        }
        String key = env.get("PRIVATE_KEY");
        if (key == null || key.isBlank()) {
            throw new CliException(ExitCodes.CONFIG, "no signing key: pass --private-key-file or --keystore (PRIVATE_KEY is not set either)");
        }
        return SigningKey.fromHex(key, "PRIVATE_KEY");
    }

    private String keystorePassword(Map<String, String> env) {
        if (keystorePasswordFile != null) {
            return SigningKey.passwordFromFile(keystorePasswordFile);
        }
        String password = env.get("DSTACK_KEYSTORE_PASSWORD");
        if (password == null) {
            throw new CliException(ExitCodes.CONFIG, "no keystore password: pass --keystore-password-file or set DSTACK_KEYSTORE_PASSWORD");
        }
        return password;
    }

    /** Where the key came from, for messages. */
    String source() {
        return privateKeyFile != null ? "the key in " + privateKeyFile : keystore != null ? "the key in " + keystore : "PRIVATE_KEY";
    }
}
