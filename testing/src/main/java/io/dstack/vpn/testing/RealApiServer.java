package io.dstack.vpn.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;

/**
 * One real kube-apiserver + etcd (fabric8 kube-api-test) per test JVM, with our CRDs from crds/ applied.
 * The binaries come from hack/provision-kube-binaries.sh; offline mode is set through the builder (its
 * environment switch is broken), so a missing binary fails loudly instead of reaching for the network.
 */
public final class RealApiServer {
    private static RealApiServer instance;

    private final KubeAPIServer server;
    private final KubernetesClient client;
    private final Path kubeconfig;
    private boolean stopped;

    private RealApiServer() throws IOException {
        String version = System.getProperty("kube.version", "1.37.2");
        Path binaries = Path.of(System.getProperty("user.home"), ".kubeapitest", "k8s", version + "-linux-amd64");
        for (String bin : List.of("kube-apiserver", "etcd", "kubectl")) {
            if (!Files.isExecutable(binaries.resolve(bin))) {
                throw new IllegalStateException(binaries.resolve(bin) + " is missing: run hack/provision-kube-binaries.sh");
            }
        }
        server = new KubeAPIServer(KubeAPIServerConfigBuilder.anAPIServerConfig()
                .withOfflineMode(true)
                .withApiServerVersion(version)
                .withUpdateKubeConfig(false)
                .build());
        server.start();
        kubeconfig = Files.createTempFile("dstack-vpn-it-kubeconfig", ".yaml");
        Files.writeString(kubeconfig, server.getKubeConfigYaml());
        client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(server.getKubeConfigYaml())).build();
        applyCrds();
        Runtime.getRuntime().addShutdownHook(new Thread(this::stop));
    }

    public static synchronized RealApiServer get() {
        if (instance == null) {
            try {
                instance = new RealApiServer();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return instance;
    }

    public KubernetesClient client() {
        return client;
    }

    public Path kubeconfig() {
        return kubeconfig;
    }

    public Path kubectl() {
        return Path.of(System.getProperty("user.home"), ".kubeapitest", "k8s",
                System.getProperty("kube.version", "1.37.2") + "-linux-amd64", "kubectl");
    }

    public static Path repoRoot() {
        return Path.of(System.getProperty("dstack.repo.root", "..")).toAbsolutePath().normalize();
    }

    private void applyCrds() throws IOException {
        try (var files = Files.list(repoRoot().resolve("crds"))) {
            for (Path crd : files.filter(f -> f.toString().endsWith(".yml") || f.toString().endsWith(".yaml")).sorted().toList()) {
                try (var in = Files.newInputStream(crd)) {
                    for (HasMetadata item : client.load(in).items()) {
                        client.resource(item).serverSideApply();
                    }
                }
            }
        }
        // The API server needs a moment before a new CRD's endpoints serve.
        long deadline = System.currentTimeMillis() + 30_000;
        while (System.currentTimeMillis() < deadline) {
            try {
                client.resources(io.dstack.vpn.api.v1alpha1.VpnNetwork.class).inAnyNamespace().list();
                client.resources(io.dstack.vpn.api.v1alpha1.VpnPeer.class).inAnyNamespace().list();
                return;
            } catch (RuntimeException notYet) {
                sleep(200);
            }
        }
        throw new IllegalStateException("CRDs from crds/ were not served within 30 s");
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops etcd and the API server; idempotent (also runs as a shutdown hook). */
    public synchronized void stop() {
        if (stopped) {
            return;
        }
        stopped = true;
        try {
            client.close();
        } finally {
            server.stop();
        }
    }

    /** Stops the shared instance, if one was started. */
    public static synchronized void shutdown() {
        if (instance != null) {
            instance.stop();
        }
    }
}
