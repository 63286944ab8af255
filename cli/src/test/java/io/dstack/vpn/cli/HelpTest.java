package io.dstack.vpn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import picocli.CommandLine;

/** Every subcommand answers --help with its usage and exit 0, required options or not. */
class HelpTest {

    @ParameterizedTest
    @ValueSource(strings = {"keygen", "register", "verify", "info", "list", "revoke", "status", "config", "pending"})
    void everySubcommandPrintsItsHelpAndExitsZero(String subcommand) {
        CommandLine cl = DstackVpn.commandLine(Map.of());
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));

        int code = cl.execute(subcommand, "--help");

        assertThat(code).as("exit code of %s --help (stderr: %s)", subcommand, err).isZero();
        assertThat(out.toString()).startsWith("Usage: dstack-vpn " + subcommand);
        assertThat(err.toString()).isEmpty();
    }
}
