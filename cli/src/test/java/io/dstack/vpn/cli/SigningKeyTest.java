package io.dstack.vpn.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.web3j.crypto.Credentials;
import org.web3j.crypto.WalletUtils;

import io.dstack.vpn.testing.Anvil;

/** Where the owner's key comes from: owner-only files, keystores, PRIVATE_KEY; and no message ever shows a secret. */
class SigningKeyTest {
    static final String KEY_0 = Anvil.PRIVATE_KEY_0.substring(2);
    static final String PASSWORD = "correct horse battery staple";

    @TempDir
    Path dir;

    Path file(String name, String content, String permissions) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, content);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(permissions));
        return f;
    }

    static CliException refused(Runnable r) {
        try {
            r.run();
        } catch (CliException e) {
            return e;
        }
        throw new AssertionError("expected a CliException");
    }

    @Test
    void anOwnerOnlyKeyFileIsReadWithOrWithout0xAndWhitespace() throws Exception {
        assertThat(SigningKey.fromFile(file("a.key", Anvil.PRIVATE_KEY_0 + "\n", "rw-------")).getAddress())
                .isEqualToIgnoringCase(Anvil.ACCOUNT_0);
        assertThat(SigningKey.fromFile(file("b.key", "  " + KEY_0 + "\r\n", "r--------")).getAddress())
                .isEqualToIgnoringCase(Anvil.ACCOUNT_0);
    }

    @ParameterizedTest
    @ValueSource(strings = {"rw-r--r--", "rw-r-----", "rw----r--", "rw-----w-", "rw--w----", "rw------x"})
    void aKeyFileThatGroupOrOthersCanTouchIsRefusedWithoutShowingTheKey(String permissions) throws Exception {
        Path f = file("open.key", Anvil.PRIVATE_KEY_0, permissions);
        CliException e = refused(() -> SigningKey.fromFile(f));
        assertThat(e.exitCode()).isEqualTo(ExitCodes.CONFIG);
        assertThat(e.getMessage()).contains("chmod 600 " + f).doesNotContain(KEY_0);
    }

    @Test
    void aFileThatIsNotAKeyIsRefusedWithoutQuotingIt() throws Exception {
        String almost = "0x" + KEY_0.substring(0, 63) + "g";
        CliException e = refused(() -> SigningKey.fromFile(dir.resolve("missing.key")));
        assertThat(e.exitCode()).isEqualTo(ExitCodes.CONFIG);
        for (String content : new String[] {almost, KEY_0 + KEY_0, "my secret words"}) {
            Path f = file("bad.key", content, "rw-------");
            e = refused(() -> SigningKey.fromFile(f));
            assertThat(e.exitCode()).isEqualTo(ExitCodes.CONFIG);
            assertThat(e.getMessage()).contains("does not hold a private key").doesNotContain(content).doesNotContain(KEY_0.substring(0, 16))
                    .doesNotContain("secret");
            Files.delete(f);
        }
    }

    @Test
    void aKeystoreIsDecryptedWithItsPasswordAndAWrongOneIsNamedButNotShown() throws Exception {
        Path keystore = keystore();
        assertThat(SigningKey.fromKeystore(keystore, PASSWORD).getAddress()).isEqualToIgnoringCase(Anvil.ACCOUNT_0);
        CliException e = refused(() -> SigningKey.fromKeystore(keystore, "guess"));
        assertThat(e.exitCode()).isEqualTo(ExitCodes.CONFIG);
        assertThat(e.getMessage()).contains("wrong password").doesNotContain("guess");
        Path notAKeystore = file("notes.json", "{\"password\": \"" + PASSWORD + "\"", "rw-r--r--");
        e = refused(() -> SigningKey.fromKeystore(notAKeystore, PASSWORD));
        assertThat(e.exitCode()).isEqualTo(ExitCodes.CONFIG);
        assertThat(e.getMessage()).contains("cannot read keystore").doesNotContain(PASSWORD);
    }

    @Test
    void thePasswordFileFollowsTheSameRuleAndLosesOnlyItsFinalLineBreak() throws Exception {
        assertThat(SigningKey.passwordFromFile(file("pw", PASSWORD + "\n", "rw-------"))).isEqualTo(PASSWORD);
        assertThat(SigningKey.passwordFromFile(file("pw2", " " + PASSWORD + " ", "rw-------"))).isEqualTo(" " + PASSWORD + " ");
        Path open = file("pw3", PASSWORD, "rw-rw----");
        CliException e = refused(() -> SigningKey.passwordFromFile(open));
        assertThat(e.getMessage()).contains("chmod 600").doesNotContain(PASSWORD);
    }

    @Test
    void theKeyFileComesFirstThenTheKeystoreThenPrivateKey() throws Exception {
        Map<String, String> env = Map.of("PRIVATE_KEY", Anvil.PRIVATE_KEY_1, "DSTACK_KEYSTORE_PASSWORD", PASSWORD);
        SigningKeyOptions o = new SigningKeyOptions();
        assertThat(o.credentials(env).getAddress()).isEqualToIgnoringCase(Anvil.ACCOUNT_1);
        o.keystore = keystore();
        assertThat(o.credentials(env).getAddress()).isEqualToIgnoringCase(Anvil.ACCOUNT_0);
        o.keystore = null;
        o.privateKeyFile = file("k", Anvil.PRIVATE_KEY_2, "rw-------");
        assertThat(o.credentials(env).getAddress()).isEqualToIgnoringCase(Anvil.ACCOUNT_2);
    }

    @Test
    void aKeystoreNeedsAPasswordAndNoSourceAtAllIsAConfigError() throws Exception {
        SigningKeyOptions o = new SigningKeyOptions();
        assertThat(refused(() -> o.credentials(Map.of())).getMessage()).contains("no signing key");
        o.keystore = keystore();
        assertThat(refused(() -> o.credentials(Map.of())).getMessage()).contains("no keystore password");
        o.keystorePasswordFile = file("pw", PASSWORD, "rw-------");
        assertThat(o.credentials(Map.of()).getAddress()).isEqualToIgnoringCase(Anvil.ACCOUNT_0);
    }

    @Test
    void aBadPrivateKeyVariableIsNotEchoed() {
        SigningKeyOptions o = new SigningKeyOptions();
        String bad = KEY_0.substring(0, 60);
        CliException e = refused(() -> o.credentials(Map.of("PRIVATE_KEY", bad)));
        assertThat(e.exitCode()).isEqualTo(ExitCodes.CONFIG);
        assertThat(e.getMessage()).contains("PRIVATE_KEY does not hold a private key").doesNotContain(bad);
    }

    /** A light (fast scrypt) keystore of anvil's account 0, as web3j writes it. */
    Path keystore() throws Exception {
        String name = WalletUtils.generateWalletFile(PASSWORD, Credentials.create(Anvil.PRIVATE_KEY_0).getEcKeyPair(), dir.toFile(), false);
        return dir.resolve(name);
    }
}
