package io.dstack.vpn.operator.it;

import io.dstack.vpn.testing.OperatorProcess;
import io.dstack.vpn.testing.RealApiServer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;

/** Bad VpnNetwork and VpnPeer objects are refused by the real API server, with a message a person understands. */
class ApiValidationIT {
    static final String NS = "validation";
    static final String KEY = "dSU0UPknJdMWd9Sfd3c/MBXMAe7aDYKE2uMWBjpsfCE=";
    static KubernetesClient client;

    @BeforeAll
    static void namespace() {
        client = RealApiServer.get().client();
        client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();
    }

    static String network(String name, String specBody) {
        return """
                apiVersion: vpn.dstack.io/v1alpha1
                kind: VpnNetwork
                metadata:
                  name: %s
                spec:
                %s
                """.formatted(name, specBody.indent(2));
    }

    static final String DEV_ACCESS = """
            access:
              devAllowList:
                nodes: [{nodeId: node-a, publicKey: "%s"}]
            """.formatted(KEY);

    static String peer(String name, String specBody) {
        return """
                apiVersion: vpn.dstack.io/v1alpha1
                kind: VpnPeer
                metadata:
                  name: %s
                spec:
                %s
                """.formatted(name, specBody.indent(2));
    }

    static final String CONTRACT = "0x37d2106bADB01dd5bE1926e45D172Cb4203C4186";

    /** A valid chain-sourced network spec plus {@code extra} lines inside access.chain. */
    static String chain(String name, String extra) {
        return network(name, """
                cidr: 10.100.0.0/24
                access:
                  chain:
                    contractAddress: "%s"
                %s""".formatted(CONTRACT, extra.indent(4)));
    }

    static final String ACCESS_SOURCE = "set exactly one access source: access.chain (the NFT contract) or access.devAllowList (dev/test only)";
    static final String NODE_ID = "must be a node id: a DNS-1123 label of lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";
    static final String PUBLIC_KEY = "must be a WireGuard public key: 32 bytes in base64, 44 characters ending in '=' (the output of 'wg pubkey')";
    static final String HOST_PORT = "must be host:port (a DNS name, an IPv4 address or [IPv6]) with a port from 1 to 65535, e.g. 203.0.113.7:51820";
    static final String CIDR_IMMUTABLE = "cidr is immutable: every node routes it; create a new VpnNetwork to renumber";
    static final String NODE_ID_IMMUTABLE = "nodeId is immutable: it is the identity the NFT binds";
    static final String NETWORK_IMMUTABLE = "network is immutable: delete and recreate the VpnPeer to move it";

    /** What is wrong, the field the API server must name, the object, and the message it must give. */
    static Stream<Arguments> invalidObjects() {
        return Stream.of(
                Arguments.of("cidr without prefix", "spec.cidr", network("n1", "cidr: 10.100.0.0\n" + DEV_ACCESS),
                        "cidr must be an IPv4 CIDR such as 10.100.0.0/24"),
                Arguments.of("IPv6 cidr", "spec.cidr", network("n2", "cidr: fd00::/64\n" + DEV_ACCESS),
                        "cidr must be an IPv4 CIDR such as 10.100.0.0/24"),
                Arguments.of("cidr with host bits", "spec.cidr", network("n3", "cidr: 10.100.0.1/24\n" + DEV_ACCESS),
                        "cidr must be a network address with the host bits zero, e.g. 10.100.0.0/24 rather than 10.100.0.1/24"),
                Arguments.of("prefix too long", "spec.cidr", network("n4", "cidr: 10.100.0.0/31\n" + DEV_ACCESS),
                        "cidr prefix length must be between /8 and /30"),
                Arguments.of("listen port out of range", "spec.listenPort", network("n5", "cidr: 10.100.0.0/24\nlistenPort: 70000\n" + DEV_ACCESS),
                        "Invalid value: 70000: spec.listenPort in body should be less than or equal to 65535"),
                Arguments.of("MTU too small", "spec.mtu", network("n6", "cidr: 10.100.0.0/24\nmtu: 500\n" + DEV_ACCESS),
                        "should be greater than or equal to 1280"),
                Arguments.of("two access sources", "spec.access", network("n7", "cidr: 10.100.0.0/24\n" + DEV_ACCESS
                        + "  chain: {contractAddress: \"" + CONTRACT + "\", rpcUrls: [\"http://127.0.0.1:8545\"]}\n"),
                        ACCESS_SOURCE),
                Arguments.of("no access source", "spec.access", network("n8", "cidr: 10.100.0.0/24\naccess: {}\n"),
                        ACCESS_SOURCE),
                Arguments.of("bad contract address", "spec.access.chain.contractAddress", network("n9", """
                        cidr: 10.100.0.0/24
                        access:
                          chain: {contractAddress: "0x1234", rpcUrls: ["https://mainnet.base.org"]}
                        """), "contractAddress must be an Ethereum address: 0x followed by 40 hex digits"),
                Arguments.of("chain without RPC", "spec.access.chain", chain("n10", ""),
                        "access.chain needs RPC endpoints: set rpcUrls, or rpcUrlsSecretRef for URLs that embed an API key"),
                Arguments.of("non-URL RPC", "spec.access.chain.rpcUrls", chain("n11", "rpcUrls: [\"mainnet.base.org\"]"),
                        "every rpcUrls entry must be an http(s):// or ws(s):// URL"),
                Arguments.of("hub-and-spoke without hubs", "spec.topology", network("n12", "cidr: 10.100.0.0/24\ntopology: {mode: HubAndSpoke}\n" + DEV_ACCESS),
                        "topology.mode HubAndSpoke needs at least one node id in topology.hubs"),
                Arguments.of("poll interval too short", "spec.access.chain", chain("n13", "rpcUrls: [\"https://x.example\"]\npollInterval: 10ms"),
                        "access.chain.pollInterval must be at least 100ms"),
                Arguments.of("allow-list key not base64 of 32 bytes", "spec.access.devAllowList.nodes[0].publicKey", network("n14", """
                        cidr: 10.100.0.0/24
                        access:
                          devAllowList:
                            nodes: [{nodeId: node-a, publicKey: "not-a-key"}]
                        """), PUBLIC_KEY),
                Arguments.of("resync interval too short", "spec.access.chain", chain("n15", "rpcUrls: [\"https://x.example\"]\nresyncInterval: 1s"),
                        "access.chain.resyncInterval must be at least 10s"),
                Arguments.of("grant confirmation time with a fraction", "spec.access.chain",
                        chain("n15b", "rpcUrls: [\"https://x.example\"]\ngrantConfirmationTime: 1.5s"),
                        "access.chain.grantConfirmationTime must be a duration of whole ms, s, m or h (e.g. 4s, 1500ms) of at most 24h"),
                Arguments.of("grant confirmation time negative", "spec.access.chain",
                        chain("n15c", "rpcUrls: [\"https://x.example\"]\ngrantConfirmationTime: -4s"),
                        "access.chain.grantConfirmationTime must be a duration of whole ms, s, m or h (e.g. 4s, 1500ms) of at most 24h"),
                Arguments.of("grant confirmation time over a day", "spec.access.chain",
                        chain("n15d", "rpcUrls: [\"https://x.example\"]\ngrantConfirmationTime: 25h"),
                        "access.chain.grantConfirmationTime must be a duration of whole ms, s, m or h (e.g. 4s, 1500ms) of at most 24h"),
                Arguments.of("suspend on outage without grace period", "spec.access.chain.chainOutage",
                        chain("n16", "rpcUrls: [\"https://x.example\"]\nchainOutage: {policy: SuspendAfterGracePeriod}"),
                        "chainOutage.policy SuspendAfterGracePeriod needs chainOutage.gracePeriod, e.g. 1h"),
                Arguments.of("outage grace period too short", "spec.access.chain.chainOutage",
                        chain("n17", "rpcUrls: [\"https://x.example\"]\nchainOutage: {policy: SuspendAfterGracePeriod, gracePeriod: 30s}"),
                        "chainOutage.gracePeriod must be at least 1m"),
                Arguments.of("RPC secret name not DNS-safe", "spec.access.chain.rpcUrlsSecretRef.name",
                        chain("n18", "rpcUrlsSecretRef: {name: Bad_Name, key: urls}"),
                        "secret name must be a DNS-1123 subdomain"),
                Arguments.of("allow-list node id not DNS-safe", "spec.access.devAllowList.nodes[0].nodeId", network("n19", """
                        cidr: 10.100.0.0/24
                        access:
                          devAllowList:
                            nodes: [{nodeId: Node_A, publicKey: "%s"}]
                        """.formatted(KEY)), NODE_ID),
                Arguments.of("DNS domain with capitals", "spec.dns.domain", network("n20", "cidr: 10.100.0.0/24\ndns: {domain: VPN.Internal}\n" + DEV_ACCESS),
                        "dns.domain must be a DNS subdomain of lowercase labels, e.g. vpn.internal"),
                Arguments.of("proxy endpoint without port", "spec.proxy.endpoint", network("n21", "cidr: 10.100.0.0/24\nproxy: {endpoint: proxy.example}\n" + DEV_ACCESS),
                        HOST_PORT),
                Arguments.of("hub not a node id", "spec.topology.hubs", network("n22", "cidr: 10.100.0.0/24\ntopology: {mode: HubAndSpoke, hubs: [Hub_1]}\n" + DEV_ACCESS),
                        "every hub must be a node id: a DNS-1123 label (lowercase letters, digits, '-', at most 63 characters)"),
                Arguments.of("hubs in a mesh", "spec.topology", network("n23", "cidr: 10.100.0.0/24\ntopology: {mode: Mesh, hubs: [hub-a]}\n" + DEV_ACCESS),
                        "topology.hubs is only used with mode HubAndSpoke; remove it or change the mode"),
                Arguments.of("peer key too short", "spec.publicKey", peer("p1", "network: dev\nnodeId: node-a\npublicKey: abc=\n"),
                        "publicKey " + PUBLIC_KEY),
                Arguments.of("peer node id not DNS-safe", "spec.nodeId", peer("p2", "network: dev\nnodeId: Node_A\npublicKey: \"" + KEY + "\"\n"),
                        "nodeId " + NODE_ID),
                Arguments.of("peer endpoint without port", "spec.endpoint", peer("p3", "network: dev\nnodeId: node-a\npublicKey: \"" + KEY + "\"\nendpoint: 192.0.2.1\n"),
                        "endpoint " + HOST_PORT),
                Arguments.of("peer endpoint port out of range", "spec.endpoint", peer("p4", "network: dev\nnodeId: node-a\npublicKey: \"" + KEY + "\"\nendpoint: \"192.0.2.1:99999\"\n"),
                        "endpoint " + HOST_PORT),
                Arguments.of("peer static address not IPv4", "spec.address", peer("p5", "network: dev\nnodeId: node-a\npublicKey: \"" + KEY + "\"\naddress: 10.0.0.300\n"),
                        "address must be an IPv4 address such as 10.100.0.7"),
                Arguments.of("peer unknown transport", "spec.transport", peer("p6", "network: dev\nnodeId: node-a\npublicKey: \"" + KEY + "\"\ntransport: QUIC\n"),
                        "Unsupported value: \"QUIC\": supported values: \"TCP\", \"UDP\""),
                Arguments.of("peer network not a name", "spec.network", peer("p8", "network: Bad_Net\nnodeId: node-a\npublicKey: \"" + KEY + "\"\n"),
                        "network must be the name of a VpnNetwork"),
                // A hostile node name: the agents' admission policy compares it with the token's node name.
                Arguments.of("peer node name not a node name", "spec.nodeName", peer("p9", "network: dev\nnodeId: node-a\npublicKey: \"" + KEY
                        + "\"\nnodeName: \"worker-1' || true || '\"\n"), "nodeName must be a Kubernetes node name: lowercase letters, digits, '-' and '.'"),
                Arguments.of("network without spec", "spec", "apiVersion: vpn.dstack.io/v1alpha1\nkind: VpnNetwork\nmetadata:\n  name: nospec\n",
                        "Required value"),
                Arguments.of("peer without network", "spec.network", peer("p7", "nodeId: node-a\npublicKey: \"" + KEY + "\"\n"),
                        "Required value"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidObjects")
    void apiServerRejectsNamingTheFieldWithAClearMessage(String what, String field, String yaml, String expected) {
        HasMetadata item = client.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).items().get(0);
        assertThatThrownBy(() -> client.resource(item).inNamespace(NS).create())
                .isInstanceOf(KubernetesClientException.class)
                .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(422))
                .hasMessageContaining(field + ": ")
                .hasMessageContaining(expected);
        assertThat(client.resource(item).inNamespace(NS).get()).as("a rejected object must not be stored").isNull();
    }

    /**
     * Each CEL rule in the checked-in CRDs has a case above (or in the immutability test) whose expected message
     * is that rule's full message, so a rule added without a test, or a case that stops triggering its rule, fails.
     */
    @Test
    void everyCelRuleOfTheCrdsIsTriggeredByACase() throws Exception {
        List<String> ruleMessages = new ArrayList<>();
        try (var files = Files.list(RealApiServer.repoRoot().resolve("crds"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yml")).toList()) {
                CustomResourceDefinition crd = client.getKubernetesSerialization().unmarshal(Files.readString(f), CustomResourceDefinition.class);
                crd.getSpec().getVersions().forEach(v -> collectRuleMessages(v.getSchema().getOpenAPIV3Schema(), ruleMessages));
            }
        }
        Set<String> covered = new HashSet<>(List.of(CIDR_IMMUTABLE, NODE_ID_IMMUTABLE, NETWORK_IMMUTABLE));
        invalidObjects().forEach(a -> covered.add((String) a.get()[3]));
        // The walk reaches rules on fields of both CRDs and inside list items; otherwise containsAll is vacuous.
        assertThat(ruleMessages).contains(CIDR_IMMUTABLE, NETWORK_IMMUTABLE, PUBLIC_KEY);
        assertThat(covered).as("cases for every CEL rule message of crds/").containsAll(ruleMessages);
    }

    private static void collectRuleMessages(JSONSchemaProps schema, List<String> out) {
        if (schema == null) {
            return;
        }
        if (schema.getXKubernetesValidations() != null) {
            schema.getXKubernetesValidations().forEach(r -> out.add(r.getMessage()));
        }
        if (schema.getProperties() != null) {
            schema.getProperties().values().forEach(p -> collectRuleMessages(p, out));
        }
        if (schema.getItems() != null) {
            collectRuleMessages(schema.getItems().getSchema(), out);
        }
        if (schema.getAdditionalProperties() != null) {
            collectRuleMessages(schema.getAdditionalProperties().getSchema(), out);
        }
    }

    @Test
    void cidrNodeIdAndNetworkAreImmutable() {
        VpnNetwork net = client.getKubernetesSerialization().unmarshal(network("immutable", "cidr: 10.50.0.0/24\n" + DEV_ACCESS), VpnNetwork.class);
        VpnNetwork created = client.resource(net).inNamespace(NS).create();
        created.getSpec().cidr = "10.51.0.0/24";
        assertThatThrownBy(() -> client.resource(created).inNamespace(NS).update())
                .hasMessageContaining("spec.cidr: ").hasMessageContaining(CIDR_IMMUTABLE);

        VpnPeer p = client.getKubernetesSerialization().unmarshal(
                peer("immutable", "network: immutable\nnodeId: node-a\npublicKey: \"" + KEY + "\"\n"), VpnPeer.class);
        VpnPeer createdPeer = client.resource(p).inNamespace(NS).create();
        createdPeer.getSpec().nodeId = "node-b";
        assertThatThrownBy(() -> client.resource(createdPeer).inNamespace(NS).update())
                .hasMessageContaining("spec.nodeId: ").hasMessageContaining(NODE_ID_IMMUTABLE);

        VpnPeer samePeer = client.resources(VpnPeer.class).inNamespace(NS).withName("immutable").get();
        samePeer.getSpec().network = "elsewhere";
        assertThatThrownBy(() -> client.resource(samePeer).inNamespace(NS).update())
                .hasMessageContaining("spec.network: ").hasMessageContaining(NETWORK_IMMUTABLE);
        // The stored objects kept their values.
        assertThat(client.resources(VpnNetwork.class).inNamespace(NS).withName("immutable").get().getSpec().cidr).isEqualTo("10.50.0.0/24");
        assertThat(client.resources(VpnPeer.class).inNamespace(NS).withName("immutable").get().getSpec().nodeId).isEqualTo("node-a");
    }

    @Test
    void validObjectGetsDefaults() {
        VpnNetwork net = client.getKubernetesSerialization().unmarshal(network("defaults", "cidr: 10.60.0.0/24\n" + DEV_ACCESS), VpnNetwork.class);
        VpnNetwork created = client.resource(net).inNamespace(NS).create();
        assertThat(created.getSpec().listenPort).isEqualTo(51820);
        assertThat(created.getSpec().mtu).isEqualTo(1420);
    }
}
