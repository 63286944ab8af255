package io.dstack.vpn.operator.it;

import io.dstack.vpn.testing.OperatorProcess;
import io.dstack.vpn.testing.RealApiServer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/** Every sample in config/samples applies cleanly to the real API server: first as a dry run, then for real. */
class SamplesIT {

    @Test
    void everySampleApplies() throws Exception {
        KubernetesClient client = RealApiServer.get().client();
        String ns = "samples";
        client.resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build()).serverSideApply();
        List<Path> samples;
        try (var files = Files.list(RealApiServer.repoRoot().resolve("config/samples"))) {
            samples = files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
        }
        assertThat(samples).hasSizeGreaterThanOrEqualTo(3);
        int applied = 0;
        for (Path sample : samples) {
            try (InputStream in = Files.newInputStream(sample)) {
                for (HasMetadata item : client.load(in).items()) {
                    client.resource(item).inNamespace(ns).dryRun().create();
                    HasMetadata created = client.resource(item).inNamespace(ns).create();
                    assertThat(created.getMetadata().getUid()).as(sample + " " + item.getMetadata().getName()).isNotBlank();
                    applied++;
                }
            }
        }
        assertThat(applied).isGreaterThanOrEqualTo(5);
    }
}
