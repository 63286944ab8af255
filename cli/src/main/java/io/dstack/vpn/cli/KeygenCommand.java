package io.dstack.vpn.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.Callable;

import io.dstack.vpn.api.wireguard.WireGuardKey;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

@Command(name = "keygen", description = "Make a WireGuard key pair: the private key goes to a 0600 file, the public key is printed.")
class KeygenCommand implements Callable<Integer> {
    @ParentCommand
    DstackVpn root;

    @Option(names = "--out", required = true, description = "file for the private key (created 0600; must not exist)")
    Path out;

    @Option(names = "--show-private", description = "also print the private key (you asked for it)")
    boolean showPrivate;

    @Override
    public Integer call() throws Exception {
        if (Files.exists(out)) {
            throw new CliException(ExitCodes.USAGE, out + " exists; refusing to overwrite a key");
        }
        WireGuardKey key = WireGuardKey.generatePrivate();
        Files.createFile(out, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(out, key.toBase64() + "\n", StandardCharsets.US_ASCII);
        Output.object(root.out(), root.output, Output.map("publicKey", key.publicKey().toBase64(), "privateKeyFile", out.toString(),
                "privateKey", showPrivate ? key.toBase64() : null));
        return ExitCodes.OK;
    }
}
