package io.dstack.vpn.e2e;

import static io.dstack.vpn.e2e.Manifests.ROOT;
import static io.dstack.vpn.e2e.Manifests.find;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.testing.RealApiServer;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * config/: the kustomize base is exactly the chart rendered with its default values (hack/update-kustomize.sh),
 * and the base and every overlay build with `kubectl kustomize` and apply to the real API server (server-side
 * dry run, then for real).
 */
class KustomizeIT {
    static final String NS = "dstack-vpn"; // the base's namespace
    static final Path OVERLAYS = ROOT.resolve("config/overlays");
    static KubernetesClient client;

    @BeforeAll
    static void apiServer() {
        client = RealApiServer.get().client();
        Manifests.createNamespace(client, NS); // for the dry run of the namespaced objects
    }

    @Test
    void theBaseIsTheChartWithDefaultValues(@TempDir Path tmp) throws Exception {
        Path fresh = tmp.resolve("base");
        var r = Manifests.exec(Map.of("HELM", Manifests.helm().toString()), List.of("hack/update-kustomize.sh", fresh.toString()));
        assertThat(r.exitCode()).as(r.output()).isZero();
        Path checkedIn = ROOT.resolve("config/base");
        assertThat(files(checkedIn)).as("config/base has drifted from helm/dstack-vpn: run hack/update-kustomize.sh and commit config/base")
                .isEqualTo(files(fresh));
        for (String f : files(fresh)) {
            assertThat(checkedIn.resolve(f)).as("config/base/" + f + " has drifted from helm/dstack-vpn: run hack/update-kustomize.sh")
                    .hasSameTextualContentAs(fresh.resolve(f));
        }
    }

    @Test
    void theBaseBuildsAndApplies() throws Exception {
        List<HasMetadata> items = build(ROOT.resolve("config/base"));
        assertThat(Manifests.kinds(items)).contains("Namespace", "CustomResourceDefinition", "Deployment", "DaemonSet",
                "ValidatingAdmissionPolicy").doesNotContain("VpnNetwork");
        assertThat(items).filteredOn(i -> !i.getKind().equals("Namespace") && !i.getKind().startsWith("Cluster")
                && !i.getKind().equals("CustomResourceDefinition") && !i.getKind().startsWith("ValidatingAdmissionPolicy"))
                .allSatisfy(i -> assertThat(i.getMetadata().getNamespace()).as(i.getKind()).isEqualTo(NS));
        assertThat(find(items, DaemonSet.class, "dstack-vpn-agent").getMetadata().getLabels())
                .containsEntry("app.kubernetes.io/managed-by", "kustomize");
        Manifests.applyDryRunThenForReal(client, NS, items);
    }

    @Test
    void everyOverlayBuildsAndApplies() throws Exception {
        List<Path> overlays;
        try (Stream<Path> dirs = Files.list(OVERLAYS)) {
            overlays = dirs.filter(Files::isDirectory).sorted().toList();
        }
        assertThat(overlays).extracting(p -> p.getFileName().toString()).contains("anvil-local", "base-mainnet");
        for (Path overlay : overlays) {
            List<HasMetadata> items = build(overlay);
            VpnNetwork network = client.getKubernetesSerialization().convertValue(items.stream()
                    .filter(i -> i.getKind().equals("VpnNetwork") && i.getMetadata().getName().equals("mesh")).findFirst()
                    .orElseThrow(() -> new AssertionError(overlay + " has no VpnNetwork mesh: " + Manifests.names(items))), VpnNetwork.class);
            assertThat(network.getMetadata().getNamespace()).isEqualTo(NS);
            if (overlay.endsWith("base-mainnet")) {
                assertThat(network.getSpec().access.chain.chainId).isEqualTo(8453L);
                assertThat(network.getSpec().access.chain.contractAddress).isEqualTo("0x37d2106bADB01dd5bE1926e45D172Cb4203C4186");
            }
            Manifests.applyDryRunThenForReal(client, NS, items);
            VpnNetwork stored = client.resources(VpnNetwork.class).inNamespace(NS).withName("mesh").get();
            assertThat(stored.getSpec().access.chain.chainId).as(overlay.toString()).isEqualTo(network.getSpec().access.chain.chainId);
            // The overlays use different CIDRs, and a network's CIDR is immutable: remove it before the next one.
            client.resource(stored).delete();
            client.resources(VpnNetwork.class).inNamespace(NS).withName("mesh").waitUntilCondition(n -> n == null, 30, TimeUnit.SECONDS);
        }
    }

    private static List<HasMetadata> build(Path kustomization) throws Exception {
        String yaml = Manifests.run(RealApiServer.get().kubectl().toString(), "kustomize", kustomization.toString());
        return Manifests.load(client, yaml);
    }

    private static List<String> files(Path dir) throws IOException {
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).map(p -> dir.relativize(p).toString()).sorted().toList();
        }
    }
}
