package io.dstack.vpn.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.dstack.vpn.testing.RealApiServer;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.Resource;

/** What ChartIT and KustomizeIT share: helm, running tools, and applying rendered manifests to the real API server. */
final class Manifests {
    static final Path ROOT = RealApiServer.repoRoot();
    static final Path CHART = ROOT.resolve("helm/dstack-vpn");

    /** The output and exit code of a finished command. */
    record Result(int exitCode, String output) {
    }

    static Path helm() {
        Path cached = Path.of(System.getProperty("user.home"), ".cache/dstack-vpn/bin/helm");
        if (!Files.isExecutable(cached)) {
            throw new IllegalStateException(cached + " is missing: run hack/install-helm.sh");
        }
        return cached;
    }

    /** Runs a command (stdout and stderr together) in the repository root, with extra environment variables. */
    static Result exec(Map<String, String> env, List<String> cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(ROOT.toFile()).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as(String.join(" ", cmd) + " finished").isTrue();
        return new Result(p.exitValue(), out);
    }

    /** Runs a command that must succeed; returns its output. */
    static String run(String... cmd) throws Exception {
        Result r = exec(Map.of(), List.of(cmd));
        assertThat(r.exitCode()).as(String.join(" ", cmd) + "\n" + r.output()).isZero();
        return r.output();
    }

    /** `helm template vpn helm/dstack-vpn --namespace ns` with `--set` pairs; must succeed. */
    static String template(String namespace, String... sets) throws Exception {
        return run(templateCommand(namespace, sets).toArray(String[]::new));
    }

    /** The same, for values that must be refused: returns the failed run. */
    static Result templateFailing(String namespace, String... sets) throws Exception {
        Result r = exec(Map.of(), templateCommand(namespace, sets));
        assertThat(r.exitCode()).as("helm template must refuse " + List.of(sets) + "\n" + r.output()).isNotZero();
        return r;
    }

    private static List<String> templateCommand(String namespace, String... sets) {
        List<String> cmd = new ArrayList<>(List.of(helm().toString(), "template", "vpn", CHART.toString(), "--namespace", namespace));
        for (String s : sets) {
            cmd.add("--set");
            cmd.add(s);
        }
        return cmd;
    }

    static List<HasMetadata> load(KubernetesClient client, String yaml) {
        return client.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).items();
    }

    static void createNamespace(KubernetesClient client, String namespace) {
        client.resource(new NamespaceBuilder().withNewMetadata().withName(namespace).endMetadata().build()).serverSideApply();
    }

    /**
     * Server-side apply of every item: all of them as a dry run first (the API server validates each one
     * completely), then for real. Items without a namespace go to {@code namespace} when they are namespaced.
     */
    static void applyDryRunThenForReal(KubernetesClient client, String namespace, List<HasMetadata> items) {
        for (HasMetadata item : items) {
            target(client, namespace, item).dryRun().serverSideApply();
        }
        for (HasMetadata item : items) {
            target(client, namespace, item).serverSideApply();
        }
    }

    private static Resource<HasMetadata> target(KubernetesClient client, String namespace, HasMetadata item) {
        return item.getMetadata().getNamespace() == null ? client.resource(item).inNamespace(namespace) : client.resource(item);
    }

    static List<String> kinds(List<HasMetadata> items) {
        return items.stream().map(HasMetadata::getKind).toList();
    }

    @SuppressWarnings("unchecked")
    static <T extends HasMetadata> T find(List<HasMetadata> items, Class<T> type, String name) {
        return (T) items.stream().filter(i -> type.isInstance(i) && i.getMetadata().getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + type.getSimpleName() + " " + name + " in " + names(items)));
    }

    static List<String> names(List<HasMetadata> items) {
        return items.stream().map(i -> i.getKind() + "/" + i.getMetadata().getName()).toList();
    }

    private Manifests() {
    }
}
