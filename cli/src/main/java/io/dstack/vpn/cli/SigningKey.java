package io.dstack.vpn.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.regex.Pattern;

import org.web3j.crypto.Credentials;
import org.web3j.crypto.WalletUtils;
import org.web3j.crypto.exception.CipherException;

/**
 * The contract owner's key, from a key file, an Ethereum JSON keystore or the PRIVATE_KEY variable. Every error
 * names where the key came from and never what it holds: neither the key nor the password reaches a message.
 */
final class SigningKey {
    private static final Pattern HEX_KEY = Pattern.compile("(0x)?[0-9a-fA-F]{64}");

    /** A file holding the key as 64 hex digits (optional 0x, surrounding whitespace ignored), owner-only. */
    static Credentials fromFile(Path file) {
        return fromHex(SecretFile.read(file, "key file"), "key file " + file);
    }

    /**
     * A keystore (Web3 Secret Storage, as geth, web3j and most wallets write it). It is encrypted, so its own
     * permissions are not checked; the password file is.
     */
    static Credentials fromKeystore(Path keystore, String password) {
        try {
            return WalletUtils.loadCredentials(password, keystore.toFile());
        } catch (CipherException e) {
            throw new CliException(ExitCodes.CONFIG, "cannot decrypt keystore " + keystore + ": wrong password?");
        } catch (IOException | RuntimeException e) {
            // Parser messages can quote the file: say only what kind of failure it was.
            throw new CliException(ExitCodes.CONFIG, "cannot read keystore " + keystore + " (" + e.getClass().getSimpleName()
                    + "): is it an Ethereum JSON keystore?");
        }
    }

    /** The password of a keystore: the file's content without its final line break, owner-only. */
    static String passwordFromFile(Path file) {
        return SecretFile.read(file, "password file").replaceFirst("\\R\\z", "");
    }

    static Credentials fromHex(String text, String source) {
        String key = text.strip();
        if (!HEX_KEY.matcher(key).matches()) {
            throw new CliException(ExitCodes.CONFIG, source + " does not hold a private key (64 hex digits, optionally after 0x)");
        }
        try {
            return Credentials.create(key);
        } catch (RuntimeException e) {
            throw new CliException(ExitCodes.CONFIG, source + " does not hold a valid private key");
        }
    }

    private SigningKey() {
    }
}
