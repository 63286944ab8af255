package io.dstack.vpn.e2e;

import static io.dstack.vpn.e2e.Manifests.CHART;
import static io.dstack.vpn.e2e.Manifests.find;
import static io.dstack.vpn.e2e.Manifests.helm;
import static io.dstack.vpn.e2e.Manifests.kinds;
import static io.dstack.vpn.e2e.Manifests.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.testing.RealApiServer;
import io.dstack.vpn.testing.TestResources;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;

/**
 * The Helm chart: `helm lint`, `helm template`, its CRDs equal to crds/, and the rendered manifests applied
 * to the real API server (server-side dry run, then for real). Least privilege is checked by impersonating
 * the agent's service account: it may write only the VpnPeer of the node its token names; and the operator's
 * service account: it may take and renew its leader Lease the way JOSDK's elector does. The proxy (off by
 * default) forwards to its one configured destination and runs without any capability; the Grafana dashboard
 * is valid JSON and queries only documented metrics.
 */
class ChartIT {
    static final String NS = "chart-it";
    /** Everything optional switched on. */
    static final String[] ALL_ON = {"proxy.enabled=true", "proxy.forward=hub-1.example.net:51820", "proxy.service.type=LoadBalancer",
        "proxy.service.externalTrafficPolicy=Local", "proxy.networkPolicy.enabled=true", "metrics.serviceMonitor.enabled=true",
        "metrics.dashboard.enabled=true", "agent.nodeIdLabel=vpn.dstack.io/node-id", "nodeApi.enabled=true", "nodeApi.service.type=LoadBalancer"};
    static KubernetesClient client;

    @BeforeAll
    static void apiServer() {
        client = RealApiServer.get().client();
        Manifests.createNamespace(client, NS);
    }

    @Test
    void chartCrdsAreTheCheckedInCrds() throws Exception {
        // Same names both ways: a CRD left only in the chart (renamed in crds/) would otherwise go unnoticed.
        assertThat(fileNames(CHART.resolve("crds"))).as("helm/dstack-vpn/crds must hold the files of crds/ (hack/update-crds.sh)")
                .isNotEmpty().isEqualTo(fileNames(Manifests.ROOT.resolve("crds")));
        try (var files = Files.list(Manifests.ROOT.resolve("crds"))) {
            for (Path crd : files.toList()) {
                assertThat(CHART.resolve("crds").resolve(crd.getFileName())).as("helm/dstack-vpn/crds must equal crds/ (hack/update-crds.sh)")
                        .hasSameTextualContentAs(crd);
            }
        }
    }

    private static List<String> fileNames(Path dir) throws Exception {
        try (var files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void lintsAndRendersAndAppliesToTheRealApiServer() throws Exception {
        run(helm().toString(), "lint", CHART.toString(), "--strict");
        List<HasMetadata> items = Manifests.load(client, Manifests.template(NS, "agent.nodeIdLabel=vpn.dstack.io/node-id"));
        assertThat(kinds(items)).contains("Deployment", "DaemonSet", "ClusterRole", "Role", "ServiceAccount", "ValidatingAdmissionPolicy",
                "ValidatingAdmissionPolicyBinding");
        assertThat(Manifests.names(items)).as("the proxy is off by default").doesNotContain("Deployment/vpn-proxy");
        Manifests.applyDryRunThenForReal(client, NS, items);
        ClusterRole operator = client.rbac().clusterRoles().withName("vpn-operator").get();
        assertThat(operator.getRules()).allSatisfy(r -> {
            assertThat(r.getVerbs()).doesNotContain("*");
            // The one delete: shards of an older peer-set layout (ADR 0002), which are ConfigMaps.
            if (r.getVerbs().contains("delete")) {
                assertThat(r.getResources()).containsExactly("configmaps");
            }
            assertThat(r.getResources()).doesNotContain("*", "customresourcedefinitions");
        });
        assertThat(find(items, Deployment.class, "vpn-operator").getSpec().getTemplate().getSpec().getContainers().get(0).getImage())
                .as("image tag defaults to the chart's appVersion").isEqualTo("ghcr.io/dstack-vpn/operator:0.1.0");
    }

    @Test
    void everythingOptionalLintsAndApplies() throws Exception {
        List<String> lint = new ArrayList<>(List.of(helm().toString(), "lint", CHART.toString(), "--strict"));
        for (String set : ALL_ON) {
            lint.addAll(List.of("--set", set));
        }
        run(lint.toArray(String[]::new));
        List<HasMetadata> items = Manifests.load(client, Manifests.template(NS, ALL_ON));
        assertThat(kinds(items)).contains("NetworkPolicy", "ServiceMonitor", "ConfigMap");
        // The API server has no Prometheus Operator CRDs: ServiceMonitors are checked as rendered, the rest applied.
        Manifests.applyDryRunThenForReal(client, NS, items.stream().filter(i -> !"ServiceMonitor".equals(i.getKind())).toList());
        assertThat(client.apps().deployments().inNamespace(NS).withName("vpn-proxy").get()).isNotNull();
        assertThat(client.services().inNamespace(NS).withName("vpn-proxy").get().getSpec().getExternalTrafficPolicy()).isEqualTo("Local");
    }

    @Test
    void theProxyForwardsToItsOneDestinationWithoutAnyCapability() throws Exception {
        List<HasMetadata> items = Manifests.load(client, Manifests.template(NS, ALL_ON));
        Deployment proxy = find(items, Deployment.class, "vpn-proxy");
        var pod = proxy.getSpec().getTemplate().getSpec();
        assertThat(pod.getAutomountServiceAccountToken()).isFalse();
        assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
        assertThat(pod.getSecurityContext().getRunAsUser()).isEqualTo(65532L);
        Container c = pod.getContainers().get(0);
        assertThat(c.getImage()).isEqualTo("ghcr.io/dstack-vpn/proxy:0.1.0");
        assertThat(c.getCommand()).as("the image's entrypoint runs the jar").isNullOrEmpty();
        assertThat(c.getArgs()).containsExactly("tcp2udp", "--tcp-listen", "0.0.0.0:8443", "--udp-forward", "hub-1.example.net:51820",
                "--metrics-listen", "$(POD_IP):9102", "--max-connections", "1024", "--tcp-recv-timeout-secs", "0", "--nodelay");
        assertThat(find(Manifests.load(client, Manifests.template(NS, "proxy.enabled=true", "proxy.forward=10.0.0.1:51820", "proxy.nodelay=false")),
                Deployment.class, "vpn-proxy").getSpec().getTemplate().getSpec().getContainers().get(0).getArgs()).endsWith("--no-nodelay");
        assertThat(c.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(c.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
        assertThat(c.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(c.getSecurityContext().getCapabilities().getAdd()).as("port 443 is the Service's; the container listens on 8443").isNullOrEmpty();
        assertThat(c.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/healthz");
        assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/healthz");

        Service service = find(items, Service.class, "vpn-proxy");
        assertThat(service.getSpec().getType()).isEqualTo("LoadBalancer");
        assertThat(service.getSpec().getPorts()).as("only the proxy port is exposed; metrics stay in the cluster").singleElement()
                .satisfies(p -> {
                    assertThat(p.getPort()).isEqualTo(443);
                    assertThat(p.getTargetPort().getStrVal()).isEqualTo("wg-tcp");
                });
        Service metrics = find(items, Service.class, "vpn-proxy-metrics");
        assertThat(metrics.getSpec().getType()).isNull(); // ClusterIP
        GenericKubernetesResource monitor = find(items, GenericKubernetesResource.class, "vpn-proxy");
        @SuppressWarnings("unchecked")
        Map<String, String> selector = (Map<String, String>) ((Map<String, Object>) ((Map<String, Object>) monitor.getAdditionalProperties()
                .get("spec")).get("selector")).get("matchLabels");
        assertThat(metrics.getMetadata().getLabels()).containsAllEntriesOf(selector);
        assertThat(service.getMetadata().getLabels()).as("the ServiceMonitor must not scrape the public Service").doesNotContainEntry(
                "app.kubernetes.io/component", selector.get("app.kubernetes.io/component"));
        assertThat(Manifests.names(items)).contains("ServiceMonitor/vpn-operator", "ServiceMonitor/vpn-agent", "ServiceMonitor/vpn-proxy");
    }

    @Test
    void schemaRejectsBadValues() throws Exception {
        assertThat(Manifests.templateFailing(NS, "agent.backend=netlink").output()).contains("backend");
        assertThat(Manifests.templateFailing(NS, "proxy.enabled=true").output()).as("enabled needs its one destination").contains("forward");
        assertThat(Manifests.templateFailing(NS, "proxy.enabled=true", "proxy.forward=no-port").output()).contains("forward");
        assertThat(Manifests.templateFailing(NS, "proxy.enabled=true", "proxy.forward=10.0.0.1:51820", "proxy.containerPort=443").output())
                .contains("containerPort");
        assertThat(Manifests.templateFailing(NS, "proxy.service.type=External").output()).contains("type");
    }

    @Test
    void theRpcAllowListReachesTheOperatorAndIsValidated() throws Exception {
        // Default: no allow list, so the operator denies every internal RPC destination (docs/adr/0010).
        var defaults = find(Manifests.load(client, Manifests.template(NS)), Deployment.class, "vpn-operator")
                .getSpec().getTemplate().getSpec().getContainers().get(0).getEnv();
        assertThat(defaults).noneMatch(e -> e.getName().startsWith("DSTACK_CHAIN_RPC"));
        var env = find(Manifests.load(client, Manifests.template(NS, "operator.rpcAllowList={172.18.0.1/32,*.chain.svc}",
                "operator.rpcDenyCidrs={34.118.224.0/20}")), Deployment.class, "vpn-operator")
                .getSpec().getTemplate().getSpec().getContainers().get(0).getEnv();
        assertThat(env).anySatisfy(e -> {
            assertThat(e.getName()).isEqualTo("DSTACK_CHAIN_RPC_ALLOW");
            assertThat(e.getValue()).isEqualTo("172.18.0.1/32,*.chain.svc");
        });
        assertThat(env).anySatisfy(e -> {
            assertThat(e.getName()).isEqualTo("DSTACK_CHAIN_RPC_DENY");
            assertThat(e.getValue()).isEqualTo("34.118.224.0/20");
        });
        assertThat(Manifests.templateFailing(NS, "operator.rpcAllowList={http://10.0.0.1:8545}").output()).contains("rpcAllowList");
    }

    @Test
    void theDashboardShipsInALabelledConfigMap() throws Exception {
        List<HasMetadata> items = Manifests.load(client, Manifests.template(NS, "metrics.dashboard.enabled=true",
                "metrics.dashboard.annotations.grafana_folder=VPN"));
        ConfigMap cm = find(items, ConfigMap.class, "vpn-dashboard");
        assertThat(cm.getMetadata().getLabels()).containsEntry("grafana_dashboard", "1");
        assertThat(cm.getMetadata().getAnnotations()).containsEntry("grafana_folder", "VPN");
        String json = cm.getData().get("dstack-vpn.json");
        assertThat(json).as("the file in the repository, unchanged (MetricsDocTest checks its metric names)")
                .isEqualTo(Files.readString(CHART.resolve("dashboards/dstack-vpn.json")).stripTrailing());
        JsonNode dashboard = new ObjectMapper().readTree(json);
        assertThat(dashboard.get("uid").asText()).isEqualTo("dstack-vpn");
        assertThat(dashboard.get("panels").size()).isGreaterThan(20);
        Manifests.applyDryRunThenForReal(client, NS, List.of(cm));
    }

    @Test
    void theOperatorMayTakeAndRenewItsLeaderLease() throws Exception {
        lintsAndRendersAndAppliesToTheRealApiServer();
        Config asOperator = Config.fromKubeconfig(Files.readString(RealApiServer.get().kubeconfig()));
        asOperator.setImpersonateUsername("system:serviceaccount:" + NS + ":vpn-operator");
        asOperator.setImpersonateGroups("system:serviceaccounts", "system:serviceaccounts:" + NS, "system:authenticated");
        try (KubernetesClient operator = new KubernetesClientBuilder().withConfig(asOperator).build()) {
            Lease lease = new LeaseBuilder().withNewMetadata().withName("dstack-vpn-operator").endMetadata()
                    .withNewSpec().withHolderIdentity("operator-a").withLeaseDurationSeconds(15).endSpec().build();
            operator.leases().inNamespace(NS).resource(lease).create();
            // fabric8's LeaderElector (JOSDK's leader election) renews and takes over with a PATCH: a Role without
            // `patch` lets the first leader in and then makes it lose the lease at its first renewal (seen on kind).
            operator.leases().inNamespace(NS).withName("dstack-vpn-operator").edit(l -> {
                l.getSpec().setHolderIdentity("operator-b");
                return l;
            });
            assertThat(operator.leases().inNamespace(NS).withName("dstack-vpn-operator").get().getSpec().getHolderIdentity())
                    .isEqualTo("operator-b");
            Lease current = operator.leases().inNamespace(NS).withName("dstack-vpn-operator").get();
            current.getSpec().setHolderIdentity("operator-c");
            operator.leases().inNamespace(NS).resource(current).update();
        } finally {
            client.leases().inNamespace(NS).withName("dstack-vpn-operator").delete();
        }
    }

    /**
     * Issue 15 §2: with watchNamespaces the operator gets a Role per listed namespace and nothing cluster-wide,
     * and with rpcSecretNames it may get only those Secrets. Checked on the real API server as the operator's
     * service account (a separate release, so the default release's ClusterRole does not mask the result).
     */
    @Test
    void withWatchNamespacesTheOperatorHasNoClusterWideRights() throws Exception {
        String home = "chart-rbac";
        String watched = "chart-rbac-team";
        String other = "chart-rbac-other";
        for (String ns : List.of(home, watched, other)) {
            Manifests.createNamespace(client, ns);
            for (String name : List.of("base-rpc", "unrelated")) {
                client.secrets().inNamespace(ns).resource(new io.fabric8.kubernetes.api.model.SecretBuilder().withNewMetadata()
                        .withName(name).endMetadata().addToStringData("urls", "https://rpc.example.com").build()).serverSideApply();
            }
        }
        List<HasMetadata> items = Manifests.load(client, run(helm().toString(), "template", "scoped", CHART.toString(), "--namespace", home,
                "--set", "operator.watchNamespaces={" + watched + "}", "--set", "operator.rpcSecretNames={base-rpc}"));
        // The only cluster-wide rights left are the agents' 'get nodes' (ADR 0011), none of the operator's.
        List<HasMetadata> clusterWide = items.stream().filter(i -> i.getKind().startsWith("Cluster")).toList();
        assertThat(clusterWide).extracting(i -> i.getMetadata().getName()).containsOnly("scoped-agent-nodes");
        assertThat(clusterWide).filteredOn(i -> i instanceof ClusterRole).singleElement()
                .satisfies(role -> assertThat(((ClusterRole) role).getRules()).singleElement().satisfies(rule -> {
                    assertThat(rule.getResources()).containsExactly("nodes");
                    assertThat(rule.getVerbs()).containsExactly("get");
                }));
        Manifests.applyDryRunThenForReal(client, home, items);

        Config asOperator = Config.fromKubeconfig(Files.readString(RealApiServer.get().kubeconfig()));
        asOperator.setImpersonateUsername("system:serviceaccount:" + home + ":scoped-operator");
        asOperator.setImpersonateGroups("system:serviceaccounts", "system:serviceaccounts:" + home, "system:authenticated");
        try (KubernetesClient operator = new KubernetesClientBuilder().withConfig(asOperator).build()) {
            assertThat(operator.secrets().inNamespace(watched).withName("base-rpc").get()).isNotNull();
            assertThatThrownBy(() -> operator.secrets().inNamespace(watched).withName("unrelated").get()).as("only the named Secret")
                    .isInstanceOf(KubernetesClientException.class).hasMessageContaining("forbidden");
            assertThatThrownBy(() -> operator.secrets().inNamespace(other).withName("base-rpc").get()).as("not outside the watched namespaces")
                    .isInstanceOf(KubernetesClientException.class).hasMessageContaining("forbidden");
            assertThatThrownBy(() -> operator.configMaps().inNamespace(other).list()).isInstanceOf(KubernetesClientException.class);
            assertThat(operator.configMaps().inNamespace(watched).list().getItems()).isNotNull();
            assertThat(operator.resources(io.dstack.vpn.api.v1alpha1.VpnNetwork.class).inNamespace(watched).list().getItems()).isEmpty();
        }
    }

    /** A client with a release's agent service account and the node name its token carries on that node. */
    static KubernetesClient agentOn(String namespace, String serviceAccount, String node) throws Exception {
        Config asAgent = Config.fromKubeconfig(Files.readString(RealApiServer.get().kubeconfig()));
        asAgent.setImpersonateUsername("system:serviceaccount:" + namespace + ":" + serviceAccount);
        asAgent.setImpersonateGroups("system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated");
        // Extra keys go in a header name: percent-encoded, as the API server expects.
        asAgent.setImpersonateExtras(Map.of("authentication.kubernetes.io%2Fnode-name", List.of(node)));
        return new KubernetesClientBuilder().withConfig(asAgent).build();
    }

    static KubernetesClient agentOn(String node) throws Exception {
        return agentOn(NS, "vpn-agent", node);
    }

    static VpnPeer peer(String name, String network, String nodeId, String nodeName) {
        VpnPeer p = TestResources.peer(name, network, nodeId, WireGuardKey.generatePrivate().publicKey().toBase64());
        p.getSpec().nodeName = nodeName;
        return p;
    }

    /** Admission policies (and their parameters) take a moment to load after they are created: retry until denied. */
    static void eventuallyDenied(KubernetesClient as, String namespace, VpnPeer peer, String message) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        String last = "allowed";
        while (System.nanoTime() < deadline) {
            try {
                as.resource(peer).inNamespace(namespace).dryRun().create();
            } catch (KubernetesClientException e) {
                if (e.getMessage().contains(message)) {
                    return;
                }
                last = e.getMessage();
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the admission policy never denied " + peer.getMetadata().getName() + " with '" + message + "'; last: " + last);
    }

    /**
     * Issue 15 §3, with the chart's default node id (the node name): an agent may write only its own node's
     * VpnPeer, under its own node id and the name {@code <network>-<nodeId>}. A separate release, so that the
     * labelled release's policies do not mask the result.
     */
    @Test
    void anAgentMayWriteOnlyItsOwnNodesVpnPeer() throws Exception {
        String ns = "chart-plain";
        Manifests.createNamespace(client, ns);
        List<HasMetadata> items = Manifests.load(client, run(helm().toString(), "template", "plain", CHART.toString(), "--namespace", ns));
        assertThat(Manifests.names(items)).as("no Node parameters needed without nodeIdLabel")
                .doesNotContain("ValidatingAdmissionPolicy/plain-agent-node-id");
        Manifests.applyDryRunThenForReal(client, ns, items);
        try (KubernetesClient agent = agentOn(ns, "plain-agent", "worker-1"); KubernetesClient otherAgent = agentOn(ns, "plain-agent", "worker-2")) {
            eventuallyDenied(agent, ns, peer("mesh-worker-2", "mesh", "worker-2", "worker-2"), "an agent may only write the VpnPeer of the node it runs on");
            // The identity attack: its own nodeName, a well-formed name, another node's id (public keys are public).
            // Let through, the older VpnPeer wins the duplicate and the real worker-2 is locked out.
            eventuallyDenied(agent, ns, peer("mesh-worker-2", "mesh", "worker-2", "worker-1"), "an agent may only publish its own node id");
            eventuallyDenied(agent, ns, peer("squatted", "mesh", "worker-1", "worker-1"), "an agent's VpnPeer must be named <network>-<nodeId>");

            VpnPeer own = peer("mesh-worker-1", "mesh", "worker-1", "worker-1");
            assertThat(agent.resource(own).inNamespace(ns).create().getMetadata().getUid()).isNotBlank();
            assertThatThrownBy(() -> agent.secrets().inNamespace(ns).list()).as("agents cannot read Secrets")
                    .isInstanceOf(KubernetesClientException.class);
            // worker-1's own updates pass; worker-2 cannot take worker-1's VpnPeer over by naming itself in it.
            own.getSpec().endpoint = "192.0.2.1:51820";
            own.getMetadata().setManagedFields(null);
            agent.resource(own).inNamespace(ns).serverSideApply();
            VpnPeer hijack = peer("mesh-worker-1", "mesh", "worker-1", "worker-2");
            assertThatThrownBy(() -> otherAgent.resource(hijack).inNamespace(ns).forceConflicts().serverSideApply())
                    .hasMessageContaining("an agent may not change the VpnPeer of another node");
            // Someone else's identity is unaffected: the admin may still write any VpnPeer.
            assertThat(client.resource(peer("mesh-edge-9", "mesh", "edge-9", "worker-2")).inNamespace(ns).dryRun().create()).isNotNull();
        }
    }

    /**
     * Issue 15 §3, with agent.nodeIdLabel: the policy reads the agent's own Node (the Nodes are its parameters)
     * and admits only the node id that Node's label carries; a Node without the label publishes nothing.
     */
    @Test
    void withANodeIdLabelAnAgentMayPublishOnlyItsNodesLabelledId() throws Exception {
        String label = "node-restriction.kubernetes.io/vpn-node-id";
        String ns = "chart-labelled";
        Manifests.createNamespace(client, ns);
        Map<String, String> ids = Map.of("chart-node-a", "edge-a", "chart-node-b", "edge-b");
        ids.forEach((node, id) -> client.nodes().resource(new io.fabric8.kubernetes.api.model.NodeBuilder().withNewMetadata().withName(node)
                .addToLabels(label, id).endMetadata().build()).serverSideApply());
        client.nodes().resource(new io.fabric8.kubernetes.api.model.NodeBuilder().withNewMetadata().withName("chart-node-c").endMetadata().build())
                .serverSideApply();
        List<HasMetadata> items = Manifests.load(client, run(helm().toString(), "template", "labelled", CHART.toString(), "--namespace", ns,
                "--set", "agent.nodeIdLabel=" + label));
        assertThat(Manifests.names(items)).contains("ValidatingAdmissionPolicy/labelled-agent-node-id",
                "ValidatingAdmissionPolicyBinding/labelled-agent-node-id");
        Manifests.applyDryRunThenForReal(client, ns, items);
        try (KubernetesClient a = agentOn(ns, "labelled-agent", "chart-node-a"); KubernetesClient c = agentOn(ns, "labelled-agent", "chart-node-c")) {
            String denied = "an agent may only publish its own node id (spec.nodeId must be the value of its node's label " + label + ")";
            eventuallyDenied(a, ns, peer("mesh-edge-b", "mesh", "edge-b", "chart-node-a"), denied);
            eventuallyDenied(a, ns, peer("mesh-chart-node-a", "mesh", "chart-node-a", "chart-node-a"), denied);
            eventuallyDenied(c, ns, peer("mesh-chart-node-c", "mesh", "chart-node-c", "chart-node-c"), denied);
            assertThat(a.resource(peer("mesh-edge-a", "mesh", "edge-a", "chart-node-a")).inNamespace(ns).create().getMetadata().getUid())
                    .isNotBlank();
        } finally {
            ids.keySet().forEach(n -> client.nodes().withName(n).delete());
            client.nodes().withName("chart-node-c").delete();
        }
    }

    @Test
    void schemaRejectsALabelThatIsNotALabelKey() throws Exception {
        // The label is written into the policy's CEL: a quote must not get that far.
        assertThat(Manifests.templateFailing(NS, "agent.nodeIdLabel=x\" || true || \"y").output()).contains("nodeIdLabel");
        assertThat(Manifests.templateFailing(NS, "agent.transportLabel=has space").output()).contains("transportLabel");
    }

    /**
     * Issue 15 §1, the network side: with operator.networkPolicy.restrictEgress the operator may reach only the
     * API server, DNS, public addresses minus every range the operator itself refuses (so DNS rebinding to an
     * internal address is dropped too), and the CIDRs of rpcAllowList.
     */
    @Test
    void theOperatorsEgressExceptsEveryRangeTheOperatorRefuses() throws Exception {
        assertThat(Manifests.templateFailing(NS, "operator.networkPolicy.restrictEgress=true").output()).contains("apiServerCIDRs");
        var policy = find(Manifests.load(client, Manifests.template(NS, "operator.networkPolicy.restrictEgress=true",
                "operator.networkPolicy.apiServerCIDRs={10.96.0.1/32}", "operator.rpcAllowList={172.18.0.1/32,geth.chain.svc}",
                "operator.rpcDenyCidrs={34.118.224.0/20}")), io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy.class, "vpn-operator");
        assertThat(policy.getSpec().getPolicyTypes()).containsExactly("Ingress", "Egress");
        List<String> excepted = policy.getSpec().getEgress().stream().flatMap(r -> r.getTo().stream())
                .filter(p -> p.getIpBlock() != null && !p.getIpBlock().getExcept().isEmpty())
                .flatMap(p -> p.getIpBlock().getExcept().stream()).toList();
        assertThat(excepted).containsAll(io.dstack.vpn.chain.rpc.RpcDestinations.INTERNAL_CIDRS).contains("34.118.224.0/20");
        List<String> allowed = policy.getSpec().getEgress().stream().flatMap(r -> r.getTo().stream())
                .filter(p -> p.getIpBlock() != null && p.getIpBlock().getExcept().isEmpty()).map(p -> p.getIpBlock().getCidr()).toList();
        assertThat(allowed).containsExactlyInAnyOrder("10.96.0.1/32", "172.18.0.1/32");
        Manifests.applyDryRunThenForReal(client, NS, List.of(policy));
        assertThat(find(Manifests.load(client, Manifests.template(NS)), io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy.class,
                "vpn-operator").getSpec().getEgress()).as("egress is opt-in").isNullOrEmpty();
    }

    /**
     * Issue 18, DNS names (ADR 0016): the agents listen on agent.dns.port, a ClusterIP Service maps port 53 onto it,
     * and a ConfigMap holds the CoreDNS server block that forwards the zone there: with the Service's address once
     * it exists (lookup, checked with a server-side dry run against the real API server), else a placeholder.
     */
    @Test
    void dnsNamesGetAServiceAndACoreDnsServerBlock() throws Exception {
        String ns = "chart-dns";
        Manifests.createNamespace(client, ns);
        List<String> release = List.of(helm().toString(), "template", "names", CHART.toString(), "--namespace", ns);
        List<HasMetadata> items = Manifests.load(client, run(release.toArray(String[]::new)));
        var daemonSet = find(items, io.fabric8.kubernetes.api.model.apps.DaemonSet.class, "names-agent");
        Container agent = daemonSet.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(agent.getPorts()).extracting(p -> p.getName() + "/" + p.getContainerPort() + "/" + p.getProtocol())
                .contains("dns/1053/UDP", "dns-tcp/1053/TCP");
        Map<String, String> env = new java.util.HashMap<>();
        agent.getEnv().stream().filter(e -> e.getValue() != null).forEach(e -> env.put(e.getName(), e.getValue()));
        assertThat(agent.getEnv()).as("DNS on the node's address (a wildcard UDP socket answers pods from the wrong source)")
                .anySatisfy(e -> {
                    assertThat(e.getName()).isEqualTo("DNS_BIND");
                    assertThat(e.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("status.hostIP");
                });
        assertThat(env).containsEntry("DNS_PORT", "1053").containsEntry("DNS_DOMAIN", "vpn.internal")
                .containsEntry("DNS_TTL_SECONDS", "5").doesNotContainKey("DNS_ALLOW_FROM");

        Service service = find(items, Service.class, "names-dns");
        assertThat(service.getSpec().getSelector()).isEqualTo(daemonSet.getSpec().getSelector().getMatchLabels());
        assertThat(service.getSpec().getPorts()).extracting(p -> p.getPort() + "/" + p.getProtocol() + "->" + p.getTargetPort().getStrVal())
                .containsExactlyInAnyOrder("53/UDP->dns", "53/TCP->dns-tcp");
        assertThat(service.getSpec().getInternalTrafficPolicy()).as("each node's CoreDNS asks its own agent").isEqualTo("Local");
        assertThat(service.getMetadata().getLabels()).as("not scraped as an agent metrics Service")
                .containsEntry("app.kubernetes.io/component", "dns");
        ConfigMap block = find(items, ConfigMap.class, "names-coredns");
        assertThat(block.getData()).containsEntry("zone", "mesh.vpn.internal").containsEntry("service", "names-dns.chart-dns.svc");
        assertThat(block.getData().get("server-block")).as("first install: no Service to look up yet")
                .isEqualTo("mesh.vpn.internal:53 {\n    errors\n    forward . DNS_SERVICE_IP\n}\n");

        // The Service exists (as after the first install): the block names its address.
        Manifests.applyDryRunThenForReal(client, ns, items.stream().filter(i -> i instanceof Service || i instanceof ConfigMap).toList());
        String clusterIp = client.services().inNamespace(ns).withName("names-dns").get().getSpec().getClusterIP();
        assertThat(clusterIp).isNotBlank();
        List<String> upgrade = new ArrayList<>(release);
        upgrade.addAll(List.of("--dry-run=server", "--kubeconfig", RealApiServer.get().kubeconfig().toString()));
        assertThat(find(Manifests.load(client, run(upgrade.toArray(String[]::new))), ConfigMap.class, "names-coredns").getData().get("server-block"))
                .contains("forward . " + clusterIp + "\n");

        // A fixed address wins, and other values reach the agents.
        List<HasMetadata> fixed = Manifests.load(client, Manifests.template(NS, "agent.dns.service.clusterIP=10.0.0.53",
                "agent.dns.domain=Corp.Example", "agent.dns.port=5300", "agent.dns.allowFrom={198.51.100.0/24,2001:db8::/32}"));
        assertThat(find(fixed, Service.class, "vpn-dns").getSpec().getClusterIP()).isEqualTo("10.0.0.53");
        assertThat(find(fixed, ConfigMap.class, "vpn-coredns").getData().get("server-block"))
                .isEqualTo("mesh.corp.example:53 {\n    errors\n    forward . 10.0.0.53\n}\n");
        assertThat(find(fixed, io.fabric8.kubernetes.api.model.apps.DaemonSet.class, "vpn-agent").getSpec().getTemplate().getSpec()
                .getContainers().get(0).getEnv()).extracting(e -> e.getName() + "=" + e.getValue())
                .contains("DNS_PORT=5300", "DNS_DOMAIN=Corp.Example", "DNS_ALLOW_FROM=198.51.100.0/24,2001:db8::/32");

        // Off: no Service, no block, no ports, and the agents are told.
        List<HasMetadata> off = Manifests.load(client, Manifests.template(NS, "agent.dns.enabled=false"));
        assertThat(Manifests.names(off)).doesNotContain("Service/vpn-dns", "ConfigMap/vpn-coredns");
        Container offAgent = find(off, io.fabric8.kubernetes.api.model.apps.DaemonSet.class, "vpn-agent").getSpec().getTemplate().getSpec()
                .getContainers().get(0);
        assertThat(offAgent.getPorts()).extracting(p -> p.getName()).containsExactly("metrics");
        assertThat(offAgent.getEnv()).extracting(e -> e.getName() + "=" + e.getValue()).contains("DNS_BIND=off");
        assertThat(Manifests.names(Manifests.load(client, Manifests.template(NS, "agent.dns.coredns.enabled=false"))))
                .contains("Service/vpn-dns").doesNotContain("ConfigMap/vpn-coredns");

        assertThat(Manifests.templateFailing(NS, "agent.dns.domain=vpn_internal").output()).contains("domain");
        assertThat(Manifests.templateFailing(NS, "agent.dns.domain=vpn..internal").output()).contains("domain");
        assertThat(Manifests.templateFailing(NS, "agent.dns.port=0").output()).contains("port");
        assertThat(Manifests.templateFailing(NS, "agent.dns.allowFrom={everyone}").output()).contains("allowFrom");
        assertThat(Manifests.templateFailing(NS, "agent.dns.service.clusterIP=dns.example").output()).contains("clusterIP");
        assertThat(Manifests.templateFailing(NS, "agent.dns.service.internalTrafficPolicy=Nearest").output()).contains("internalTrafficPolicy");
    }

    /** Issue 15 §5: every pod is locked down; the agent, on the host's network, listens on the node's address only. */
    @Test
    void podsAreLockedDownAndMetricsAreNotOpenToAll() throws Exception {
        List<HasMetadata> items = Manifests.load(client, Manifests.template(NS, ALL_ON));
        var agentPod = find(items, io.fabric8.kubernetes.api.model.apps.DaemonSet.class, "vpn-agent").getSpec().getTemplate().getSpec();
        assertThat(agentPod.getSecurityContext().getSeccompProfile().getType()).isEqualTo("RuntimeDefault");
        Container agent = agentPod.getContainers().get(0);
        assertThat(agent.getSecurityContext().getReadOnlyRootFilesystem()).isTrue();
        assertThat(agent.getSecurityContext().getPrivileged()).isFalse();
        assertThat(agent.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
        assertThat(agent.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(agent.getSecurityContext().getCapabilities().getAdd()).containsExactlyInAnyOrder("NET_ADMIN", "NET_BIND_SERVICE");
        assertThat(agent.getEnv()).anySatisfy(e -> {
            assertThat(e.getName()).isEqualTo("HTTP_BIND");
            assertThat(e.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("status.hostIP");
        });
        for (String name : List.of("vpn-operator", "vpn-proxy", "vpn-node-api")) {
            var pod = find(items, Deployment.class, name).getSpec().getTemplate().getSpec();
            assertThat(pod.getSecurityContext().getSeccompProfile().getType()).as(name).isEqualTo("RuntimeDefault");
            assertThat(pod.getContainers().get(0).getSecurityContext().getReadOnlyRootFilesystem()).as(name).isTrue();
            assertThat(pod.getContainers().get(0).getSecurityContext().getCapabilities().getDrop()).as(name).containsExactly("ALL");
        }
        // Metrics ports: reachable from the release's namespace only, unless metrics.allowFrom says otherwise.
        for (String name : List.of("vpn-operator", "vpn-proxy")) {
            var policy = find(items, io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy.class, name);
            int metricsPort = name.equals("vpn-proxy") ? 9102 : 8080;
            assertThat(policy.getSpec().getIngress()).filteredOn(r -> r.getPorts().stream().anyMatch(p -> p.getPort().getIntVal() == metricsPort))
                    .as(name).singleElement().satisfies(r -> assertThat(r.getFrom()).singleElement().satisfies(peer -> {
                        assertThat(peer.getPodSelector()).isNotNull();
                        assertThat(peer.getNamespaceSelector()).isNull();
                    }));
        }
        var allowed = Manifests.load(client, Manifests.template(NS, "metrics.allowFrom[0].namespaceSelector.matchLabels.team=monitoring"));
        assertThat(find(allowed, io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy.class, "vpn-operator").getSpec().getIngress())
                .singleElement().satisfies(r -> assertThat(r.getFrom()).singleElement()
                        .satisfies(peer -> assertThat(peer.getNamespaceSelector().getMatchLabels()).containsEntry("team", "monitoring")));
    }
    /**
     * ADR 0015: the node API reads peer sets and its own key, and writes only the agent's part of the status of
     * VpnPeers of nodes outside Kubernetes (no nodeName): not their spec, not their phase or other conditions, not
     * an in-cluster node's VpnPeer, no other Secret.
     */
    @Test
    void theNodeApiMayWriteOnlyTheAppliedStatusOfOutsidePeers() throws Exception {
        String ns = "chart-node-api";
        Manifests.createNamespace(client, ns);
        List<HasMetadata> items = Manifests.load(client, run(helm().toString(), "template", "edge", CHART.toString(), "--namespace", ns,
                "--set", "nodeApi.enabled=true"));
        var pod = find(items, Deployment.class, "edge-node-api").getSpec().getTemplate().getSpec();
        assertThat(pod.getSecurityContext().getRunAsNonRoot()).isTrue();
        assertThat(pod.getContainers().get(0).getSecurityContext().getCapabilities().getAdd()).isNullOrEmpty();
        Manifests.applyDryRunThenForReal(client, ns, items);
        String key = client.secrets().inNamespace(ns).withName("edge-node-api-key").get().getData().get("current");
        assertThat(WireGuardKey.isValid(new String(java.util.Base64.getDecoder().decode(key)))).as("the chart made an X25519 key").isTrue();
        client.resource(new io.fabric8.kubernetes.api.model.SecretBuilder().withNewMetadata().withName("other").withNamespace(ns).endMetadata()
                .addToStringData("x", "y").build()).create();
        VpnPeer outside = client.resource(peer("mesh-tee-1", "mesh", "tee-1", null)).inNamespace(ns).create();
        VpnPeer inCluster = client.resource(peer("mesh-worker-1", "mesh", "worker-1", "worker-1")).inNamespace(ns).create();
        for (String name : List.of(outside.getMetadata().getName(), inCluster.getMetadata().getName())) {
            patchStatus(client, ns, name, "dstack-vpn-operator", "{\"phase\":\"Active\",\"address\":\"10.9.0.2\"}");
        }
        try (KubernetesClient api = agentOn(ns, "edge-node-api", "ignored")) {
            assertThat(api.secrets().inNamespace(ns).withName("edge-node-api-key").get()).isNotNull();
            assertThatThrownBy(() -> api.secrets().inNamespace(ns).withName("other").get()).hasMessageContaining("forbidden");
            assertThatThrownBy(() -> api.secrets().inNamespace(ns).list()).hasMessageContaining("forbidden");
            assertThat(api.configMaps().inNamespace(ns).list().getItems()).isNotNull();
            VpnPeer spec = peer("mesh-tee-2", "mesh", "tee-2", null);
            assertThatThrownBy(() -> api.resource(spec).inNamespace(ns).create()).as("no VpnPeer specs").hasMessageContaining("forbidden");

            String applied = "{\"applied\":{\"generation\":3,\"peersConfigured\":2},\"conditions\":[{\"type\":\"Applied\",\"status\":\"True\","
                    + "\"reason\":\"Applied\",\"message\":\"ok\",\"lastTransitionTime\":\"2026-12-03T00:00:00Z\"}]}";
            eventually(() -> patchStatus(api, ns, "mesh-worker-1", "dstack-vpn-agent", applied),
                    "the node API may only write the status of a node outside Kubernetes");
            eventually(() -> patchStatus(api, ns, "mesh-tee-1", "dstack-vpn-agent", "{\"phase\":\"Revoked\"}"),
                    "may not change a VpnPeer's phase, address or token");
            eventually(() -> patchStatus(api, ns, "mesh-tee-1", "dstack-vpn-agent",
                    "{\"conditions\":[{\"type\":\"Admitted\",\"status\":\"True\",\"reason\":\"X\",\"message\":\"x\","
                            + "\"lastTransitionTime\":\"2026-12-03T00:00:00Z\"}]}"), "may only set the Applied condition");
            patchStatus(api, ns, "mesh-tee-1", "dstack-vpn-agent", applied);
            VpnPeer written = client.resources(VpnPeer.class).inNamespace(ns).withName("mesh-tee-1").get();
            assertThat(written.getStatus().applied.generation).isEqualTo(3L);
            assertThat(written.getStatus().phase.toString()).isEqualTo("Active");
        }
    }

    static void patchStatus(KubernetesClient as, String ns, String name, String manager, String statusJson) {
        as.resources(VpnPeer.class).inNamespace(ns).withName(name).subresource("status").patch(
                new io.fabric8.kubernetes.client.dsl.base.PatchContext.Builder().withPatchType(io.fabric8.kubernetes.client.dsl.base.PatchType.SERVER_SIDE_APPLY)
                        .withFieldManager(manager).withForce(true).build(),
                "{\"apiVersion\":\"vpn.dstack.io/v1alpha1\",\"kind\":\"VpnPeer\",\"metadata\":{\"name\":\"" + name + "\",\"namespace\":\"" + ns
                        + "\"},\"status\":" + statusJson + "}");
    }

    /** Admission policies take a moment to load: retry the write until it is denied with {@code message}. */
    static void eventually(Runnable write, String message) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        String last = "allowed";
        while (System.nanoTime() < deadline) {
            try {
                write.run();
            } catch (KubernetesClientException e) {
                if (e.getMessage().contains(message)) {
                    return;
                }
                last = e.getMessage();
            }
            Thread.sleep(200);
        }
        throw new AssertionError("never denied with '" + message + "'; last: " + last);
    }
}
