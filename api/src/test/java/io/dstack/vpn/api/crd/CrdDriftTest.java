package io.dstack.vpn.api.crd;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * crds/ is what users install and what the API-server tests apply; it must equal what the Java model
 * generates. This test only compares: it never writes crds/, so no flag can turn drift into a pass.
 * {@link UpdateCrds} (hack/update-crds.sh) is the separate entry point that rewrites the files.
 */
class CrdDriftTest {

    static final Path CRDS = Path.of(System.getProperty("dstack.repo.root", "..")).resolve("crds");

    @Test
    void checkedInCrdsMatchTheModel(@TempDir Path tmp) throws Exception {
        Map<String, String> generated = CrdRenderer.render(tmp);
        // Same file names both ways: a CRD the model no longer renders (a rename) must not linger in crds/.
        try (var listing = Files.list(CRDS)) {
            assertThat(new TreeSet<>(listing.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yml")).toList()))
                    .as("CRD files in %s: run hack/update-crds.sh", CRDS)
                    .isEqualTo(generated.keySet());
        }
        for (var e : generated.entrySet()) {
            Path checkedIn = CRDS.resolve(e.getKey());
            assertThat(Files.readString(checkedIn))
                    .as("%s drifted from the Java model: run hack/update-crds.sh and commit the result", checkedIn)
                    .isEqualTo(e.getValue());
        }
    }

    @Test
    void printerColumnsTellTheStoryInDeclaredOrder(@TempDir Path tmp) throws Exception {
        String network = CrdRenderer.render(tmp).get("vpnnetworks.vpn.dstack.io-v1.yml");
        assertThat(network.indexOf("name: \"CIDR\"")).isLessThan(network.indexOf("name: \"Age\""));
        assertThat(network).contains("x-kubernetes-list-type: \"map\"");
    }
}
