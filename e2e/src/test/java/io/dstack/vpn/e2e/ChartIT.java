package io.dstack.vpn.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.testing.RealApiServer;
import io.dstack.vpn.testing.TestResources;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;

/**
 * The Helm chart: `helm lint`, `helm template`, its CRDs equal to crds/, and the rendered manifests applied
 * to the real API server (server-side dry run, then for real). Least privilege is checked by impersonating
 * the agent's service account: it may write only the VpnPeer of the node its token names.
 */
class ChartIT {
    static final String NS = "chart-it";
    static final Path CHART = RealApiServer.repoRoot().resolve("helm/dstack-vpn");
    static KubernetesClient client;

    @BeforeAll
    static void apiServer() {
        client = RealApiServer.get().client();
        client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();
    }

    static Path helm() {
        Path cached = Path.of(System.getProperty("user.home"), ".cache/dstack-vpn/bin/helm");
        if (!Files.isExecutable(cached)) {
            throw new IllegalStateException(cached + " is missing: run hack/install-helm.sh");
        }
        return cached;
    }

    static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", cmd) + "\n" + out).isZero();
        return out;
    }

    @Test
    void chartCrdsAreTheCheckedInCrds() throws Exception {
        try (var files = Files.list(RealApiServer.repoRoot().resolve("crds"))) {
            for (Path crd : files.toList()) {
                assertThat(CHART.resolve("crds").resolve(crd.getFileName())).as("helm/dstack-vpn/crds must equal crds/ (hack/update-crds.sh)")
                        .hasSameTextualContentAs(crd);
            }
        }
    }

    @Test
    void lintsAndRendersAndAppliesToTheRealApiServer() throws Exception {
        run(helm().toString(), "lint", CHART.toString(), "--strict");
        String manifests = run(helm().toString(), "template", "vpn", CHART.toString(), "--namespace", NS,
                "--set", "agent.nodeIdLabel=vpn.dstack.io/node-id");
        List<HasMetadata> items = client.load(new ByteArrayInputStream(manifests.getBytes(StandardCharsets.UTF_8))).items();
        List<String> kinds = new ArrayList<>();
        items.forEach(i -> kinds.add(i.getKind()));
        assertThat(kinds).contains("Deployment", "DaemonSet", "ClusterRole", "Role", "ServiceAccount", "ValidatingAdmissionPolicy",
                "ValidatingAdmissionPolicyBinding");
        for (HasMetadata item : items) {
            client.resource(item).inNamespace(NS).dryRun().serverSideApply();
        }
        for (HasMetadata item : items) {
            client.resource(item).inNamespace(NS).serverSideApply();
        }
        ClusterRole operator = client.rbac().clusterRoles().withName("vpn-operator").get();
        assertThat(operator.getRules()).allSatisfy(r -> {
            assertThat(r.getVerbs()).doesNotContain("*", "delete");
            assertThat(r.getResources()).doesNotContain("*", "customresourcedefinitions");
        });
    }

    @Test
    void schemaRejectsBadValues() throws Exception {
        Process p = new ProcessBuilder(helm().toString(), "template", "vpn", CHART.toString(), "--set", "agent.backend=netlink")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(60, TimeUnit.SECONDS);
        assertThat(p.exitValue()).isNotZero();
        assertThat(out).contains("backend");
    }

    @Test
    void anAgentMayWriteOnlyItsOwnNodesVpnPeer() throws Exception {
        lintsAndRendersAndAppliesToTheRealApiServer(); // RBAC and the admission policy in place
        Config asAgent = Config.fromKubeconfig(Files.readString(RealApiServer.get().kubeconfig()));
        asAgent.setImpersonateUsername("system:serviceaccount:" + NS + ":vpn-agent");
        asAgent.setImpersonateGroups("system:serviceaccounts", "system:serviceaccounts:" + NS, "system:authenticated");
        // Extra keys go in a header name: percent-encoded, as the API server expects.
        asAgent.setImpersonateExtras(Map.of("authentication.kubernetes.io%2Fnode-name", List.of("worker-1")));
        try (KubernetesClient agent = new KubernetesClientBuilder().withConfig(asAgent).build()) {
            VpnPeer own = TestResources.peer("mesh-worker-1", "mesh", "worker-1", WireGuardKey.generatePrivate().publicKey().toBase64());
            own.getSpec().nodeName = "worker-1";
            // The policy needs a moment to be loaded by the API server after it is created.
            long deadline = System.nanoTime() + 30_000_000_000L;
            VpnPeer other = TestResources.peer("mesh-worker-2", "mesh", "worker-2", WireGuardKey.generatePrivate().publicKey().toBase64());
            other.getSpec().nodeName = "worker-2";
            while (true) {
                try {
                    agent.resource(other).inNamespace(NS).dryRun().create();
                } catch (KubernetesClientException e) {
                    if (e.getMessage().contains("only write the VpnPeer of the node it runs on")) {
                        break;
                    }
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("the ValidatingAdmissionPolicy never denied another node's VpnPeer");
                }
                Thread.sleep(200);
            }
            assertThat(agent.resource(own).inNamespace(NS).create().getMetadata().getUid()).isNotBlank();
            assertThatThrownBy(() -> agent.resource(other).inNamespace(NS).create())
                    .hasMessageContaining("an agent may only write the VpnPeer of the node it runs on");
            assertThatThrownBy(() -> agent.secrets().inNamespace(NS).list()).as("agents cannot read Secrets")
                    .isInstanceOf(KubernetesClientException.class);
        }
    }
}
