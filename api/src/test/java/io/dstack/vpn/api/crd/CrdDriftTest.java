package io.dstack.vpn.api.crd;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * crds/ is what users install and what the API-server tests apply; it must equal what the Java model
 * generates. Run hack/update-crds.sh after changing the model.
 */
class CrdDriftTest {

    static final Path CRDS = Path.of(System.getProperty("dstack.repo.root", "..")).resolve("crds");

    @Test
    void checkedInCrdsMatchTheModel(@TempDir Path tmp) throws Exception {
        Map<String, String> generated = CrdRenderer.render(tmp);
        if (Boolean.getBoolean("dstack.updateCrds")) {
            Files.createDirectories(CRDS);
            for (var e : generated.entrySet()) {
                Files.writeString(CRDS.resolve(e.getKey()), e.getValue());
            }
        }
        assertThat(generated).as("generated CRDs").hasSize(2);
        for (var e : generated.entrySet()) {
            Path checkedIn = CRDS.resolve(e.getKey());
            assertThat(checkedIn).as("%s is missing: run hack/update-crds.sh", checkedIn).exists();
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
