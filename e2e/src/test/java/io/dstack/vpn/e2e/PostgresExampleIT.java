package io.dstack.vpn.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.testing.RealApiServer;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * The kind recipe's manifests (docs/examples/postgres/): our CI has no registry to pull the postgres image from, so the
 * recipe itself is not run here ({@link PostgresReplicationIT} is the tested proof of the same setup); this checks
 * that the manifests are accepted by the real API server and agree with each other and with the recipe's promises.
 */
class PostgresExampleIT {
    static final Path DIR = RealApiServer.repoRoot().resolve("docs/examples/postgres");

    @Test
    void theManifestsApplyAndAgreeWithEachOther() throws Exception {
        KubernetesClient client = RealApiServer.get().client();
        client.resource(new NamespaceBuilder().withNewMetadata().withName("pg-demo").endMetadata().build()).serverSideApply();
        List<HasMetadata> items = new ArrayList<>();
        try (Stream<Path> files = Files.list(DIR)) {
            for (Path f : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
                try (InputStream in = Files.newInputStream(f)) {
                    items.addAll(client.load(in).items());
                }
            }
        }
        for (HasMetadata item : items) {
            client.resource(item).dryRun().create(); // the API server's own validation, before anything exists
            assertThat(client.resource(item).create().getMetadata().getUid()).as(item.getMetadata().getName()).isNotBlank();
        }

        ConfigMap config = (ConfigMap) items.stream().filter(i -> i instanceof ConfigMap).findFirst().orElseThrow();
        Map<String, String> data = config.getData();
        String cidr = data.get("OVERLAY_CIDR");
        assertThat(data.get("PRIMARY_ADDRESS")).isNotEqualTo(data.get("REPLICA_ADDRESS"));
        // pg_hba: over TCP, the replication role only, only from the overlay range.
        List<String> hostRules = data.get("pg_hba.conf").lines().filter(l -> l.startsWith("host")).toList();
        assertThat(hostRules).hasSize(1);
        assertThat(hostRules.getFirst().split("\\s+")).containsExactly("host", "replication", "replicator", cidr, "scram-sha-256");
        assertThat(data.get("10-replication.sh")).contains("pg_create_physical_replication_slot('replica_slot')");

        Pod primary = pod(items, "pg-primary");
        Pod replica = pod(items, "pg-replica");
        for (Pod p : List.of(primary, replica)) {
            assertThat(p.getSpec().getHostNetwork()).as("%s on the node's network, where dvpn0 is", p.getMetadata().getName()).isTrue();
            Container postgres = p.getSpec().getContainers().getFirst();
            assertThat(postgres.getArgs()).contains("listen_addresses=$(OVERLAY_ADDRESS)", "hba_file=/etc/pg-replication/pg_hba.conf");
            for (Container c : concat(p.getSpec().getInitContainers(), p.getSpec().getContainers())) {
                for (EnvVar e : c.getEnv()) {
                    if (e.getName().contains("PASSWORD")) {
                        assertThat(e.getValueFrom().getSecretKeyRef()).as("%s comes from the Secret", e.getName()).isNotNull();
                    }
                }
            }
        }
        assertThat(primary.getSpec().getNodeSelector()).isNotEqualTo(replica.getSpec().getNodeSelector());
        assertThat(env(primary.getSpec().getContainers().getFirst(), "OVERLAY_ADDRESS").getValueFrom().getConfigMapKeyRef().getKey())
                .isEqualTo("PRIMARY_ADDRESS");
        assertThat(env(replica.getSpec().getContainers().getFirst(), "OVERLAY_ADDRESS").getValueFrom().getConfigMapKeyRef().getKey())
                .isEqualTo("REPLICA_ADDRESS");
        String basebackup = String.join("\n", replica.getSpec().getInitContainers().getFirst().getArgs());
        assertThat(basebackup).contains("pg_basebackup", " -R ", "-S replica_slot", "host=$PRIMARY_ADDRESS", "passfile=");
    }

    static Pod pod(List<HasMetadata> items, String name) {
        return items.stream().filter(i -> i instanceof Pod && i.getMetadata().getName().equals(name)).map(Pod.class::cast)
                .findFirst().orElseThrow(() -> new AssertionError("no Pod " + name + " in " + DIR));
    }

    static EnvVar env(Container c, String name) {
        return c.getEnv().stream().filter(e -> e.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no env " + name + " in " + c.getName()));
    }

    static List<Container> concat(List<Container> a, List<Container> b) {
        List<Container> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
