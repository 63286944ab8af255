package io.dstack.vpn.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.dstack.vpn.testing.RealApiServer;

/**
 * docs/metrics.md is the metrics reference: every metric name in the operator's, the agent's and the proxy's
 * code is in it, and the Grafana dashboard (valid JSON) queries nothing else.
 */
class MetricsDocTest {
    static final Pattern METRIC = Pattern.compile("dstack_vpn_[a-z0-9_]*[a-z0-9]");
    static final Path ROOT = RealApiServer.repoRoot();

    /** The name a series belongs to: Prometheus adds _sum, _count and _max (Micrometer) to timers. */
    static String family(String series) {
        return series.replaceFirst("_(sum|count|max|bucket)$", "");
    }

    @Test
    void everyMetricInTheCodeIsDocumented() throws IOException {
        TreeSet<String> names = new TreeSet<>();
        for (String module : List.of("operator", "agent-daemonset", "proxy")) {
            Path src = ROOT.resolve(module).resolve("src/main/java");
            if (!Files.isDirectory(src)) {
                continue; // a module not written yet
            }
            try (Stream<Path> files = Files.walk(src)) {
                files.filter(f -> f.toString().endsWith(".java")).forEach(f -> {
                    try {
                        METRIC.matcher(Files.readString(f)).results().map(m -> m.group()).forEach(names::add);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
            }
        }
        assertThat(names).contains("dstack_vpn_peers", "dstack_vpn_chain_lag_blocks", "dstack_vpn_agent_applied_generation");
        String doc = Files.readString(ROOT.resolve("docs/metrics.md"));
        assertThat(names).as("metric names in the code that docs/metrics.md does not list").allSatisfy(n -> assertThat(doc).contains("`" + n));
    }

    @Test
    void theDashboardIsValidJsonAndQueriesOnlyDocumentedMetrics() throws IOException {
        var dashboard = new ObjectMapper().readTree(ROOT.resolve("helm/dstack-vpn/dashboards/dstack-vpn.json").toFile());
        TreeSet<String> queried = new TreeSet<>();
        dashboard.get("panels").forEach(p -> p.path("targets")
                .forEach(t -> METRIC.matcher(t.get("expr").asText()).results().map(m -> family(m.group())).forEach(queried::add)));
        assertThat(queried).hasSizeGreaterThan(20);
        String doc = Files.readString(ROOT.resolve("docs/metrics.md"));
        assertThat(queried).allSatisfy(n -> assertThat(doc).contains("`" + n));
    }
}
