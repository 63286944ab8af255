package io.dstack.vpn.cli;

import java.io.PrintWriter;
import java.util.Map;

import io.dstack.vpn.chain.contract.FeeLimitExceededException;
import io.dstack.vpn.chain.rpc.RpcException;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code dstack-vpn}: the admin CLI. Works standalone and as {@code kubectl dstack-vpn} (cli/bin has the
 * plugin launcher). Chain commands need an RPC URL and the contract; cluster commands use the kubeconfig.
 */
// scope INHERIT: every subcommand gets --help and --version too, and `keygen --help` prints help (exit 0) instead
// of complaining about its required --out.
@Command(name = "dstack-vpn", mixinStandardHelpOptions = true, scope = CommandLine.ScopeType.INHERIT, version = "dstack-vpn 0.1.0",
        description = "Grant and revoke WireGuard network access with the access NFT, and inspect the cluster.",
        subcommands = {KeygenCommand.class, RegisterCommand.class, VerifyCommand.class, InfoCommand.class, ListCommand.class,
                RevokeCommand.class, StatusCommand.class, ConfigCommand.class, PendingCommand.class, NodeBundleCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:a check answered no (verify)", "2:invalid usage or input",
                "3:configuration (signing key or its file's permissions, fee cap, chain id, not the owner, no RPC/contract, VpnNetwork disagrees)",
                "4:chain or cluster unreachable, or the transaction failed", "5:not found"})
public class DstackVpn {
    @Spec
    CommandSpec spec;

    @Option(names = {"-o", "--output"}, scope = CommandLine.ScopeType.INHERIT, description = "table (default), json or yaml")
    Output.Format output = Output.Format.table;

    @Option(names = {"-n", "--namespace"}, scope = CommandLine.ScopeType.INHERIT, description = "Kubernetes namespace (default: the kubeconfig's)")
    String namespace;

    Map<String, String> env = System.getenv();
    private KubernetesClient kube;

    public static void main(String[] args) {
        System.exit(commandLine(System.getenv()).execute(args));
    }

    /** The command line with error handling; tests pass their own environment. */
    public static CommandLine commandLine(Map<String, String> env) {
        DstackVpn root = new DstackVpn();
        root.env = env;
        CommandLine cl = new CommandLine(root);
        cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            int code;
            String message;
            if (e instanceof CliException c) {
                code = c.exitCode();
                message = c.getMessage();
            } else if (e instanceof FeeLimitExceededException f) {
                code = ExitCodes.CONFIG;
                message = "fee cap: " + f.getMessage() + "; nothing was signed (raise --max-fee-gwei or --max-gas if this is expected)";
            } else if (e instanceof RpcException r) {
                code = ExitCodes.UNAVAILABLE; // unreachable after retries, or the node refused the call
                message = "chain: " + r.getMessage();
            } else if (e instanceof KubernetesClientException k) {
                code = ExitCodes.UNAVAILABLE;
                message = "cluster: " + k.getMessage();
            } else {
                code = ExitCodes.UNAVAILABLE;
                message = e.getClass().getSimpleName() + ": " + e.getMessage();
            }
            err.println("error: " + message);
            err.flush();
            return code;
        });
        return cl;
    }

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    KubernetesClient kube() {
        if (kube == null) {
            kube = new KubernetesClientBuilder().build();
        }
        return kube;
    }

    String namespace() {
        return namespace != null ? namespace : kube().getNamespace() == null ? "default" : kube().getNamespace();
    }
}
