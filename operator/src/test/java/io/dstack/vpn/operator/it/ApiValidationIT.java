package io.dstack.vpn.operator.it;

import io.dstack.vpn.testing.OperatorProcess;
import io.dstack.vpn.testing.RealApiServer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
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

    static Stream<Arguments> invalidObjects() {
        return Stream.of(
                Arguments.of("cidr without prefix", network("n1", "cidr: 10.100.0.0\n" + DEV_ACCESS),
                        "cidr must be an IPv4 CIDR such as 10.100.0.0/24"),
                Arguments.of("IPv6 cidr", network("n2", "cidr: fd00::/64\n" + DEV_ACCESS),
                        "cidr must be an IPv4 CIDR"),
                Arguments.of("cidr with host bits", network("n3", "cidr: 10.100.0.1/24\n" + DEV_ACCESS),
                        "cidr must be a network address with the host bits zero"),
                Arguments.of("prefix too long", network("n4", "cidr: 10.100.0.0/31\n" + DEV_ACCESS),
                        "cidr prefix length must be between /8 and /30"),
                Arguments.of("listen port out of range", network("n5", "cidr: 10.100.0.0/24\nlistenPort: 70000\n" + DEV_ACCESS),
                        "listenPort: Invalid value: 70000: spec.listenPort in body should be less than or equal to 65535"),
                Arguments.of("MTU too small", network("n6", "cidr: 10.100.0.0/24\nmtu: 500\n" + DEV_ACCESS),
                        "should be greater than or equal to 1280"),
                Arguments.of("two access sources", network("n7", "cidr: 10.100.0.0/24\n" + DEV_ACCESS
                        + "  chain: {contractAddress: \"0x37d2106bADB01dd5bE1926e45D172Cb4203C4186\", rpcUrls: [\"http://127.0.0.1:8545\"]}\n"),
                        "set exactly one access source"),
                Arguments.of("no access source", network("n8", "cidr: 10.100.0.0/24\naccess: {}\n"),
                        "set exactly one access source"),
                Arguments.of("bad contract address", network("n9", """
                        cidr: 10.100.0.0/24
                        access:
                          chain: {contractAddress: "0x1234", rpcUrls: ["https://mainnet.base.org"]}
                        """), "contractAddress must be an Ethereum address: 0x followed by 40 hex digits"),
                Arguments.of("chain without RPC", network("n10", """
                        cidr: 10.100.0.0/24
                        access:
                          chain: {contractAddress: "0x37d2106bADB01dd5bE1926e45D172Cb4203C4186"}
                        """), "access.chain needs RPC endpoints"),
                Arguments.of("non-URL RPC", network("n11", """
                        cidr: 10.100.0.0/24
                        access:
                          chain: {contractAddress: "0x37d2106bADB01dd5bE1926e45D172Cb4203C4186", rpcUrls: ["mainnet.base.org"]}
                        """), "every rpcUrls entry must be an http(s):// or ws(s):// URL"),
                Arguments.of("hub-and-spoke without hubs", network("n12", "cidr: 10.100.0.0/24\ntopology: {mode: HubAndSpoke}\n" + DEV_ACCESS),
                        "topology.mode HubAndSpoke needs at least one node id in topology.hubs"),
                Arguments.of("poll interval too short", network("n13", """
                        cidr: 10.100.0.0/24
                        access:
                          chain: {contractAddress: "0x37d2106bADB01dd5bE1926e45D172Cb4203C4186", rpcUrls: ["https://x.example"], pollInterval: 10ms}
                        """), "access.chain.pollInterval must be at least 100ms"),
                Arguments.of("allow-list key not base64 of 32 bytes", network("n14", """
                        cidr: 10.100.0.0/24
                        access:
                          devAllowList:
                            nodes: [{nodeId: node-a, publicKey: "not-a-key"}]
                        """), "must be a WireGuard public key: 32 bytes in base64"),
                Arguments.of("peer key too short", peer("p1", "network: dev\nnodeId: node-a\npublicKey: abc=\n"),
                        "publicKey must be a WireGuard public key"),
                Arguments.of("peer node id not DNS-safe", peer("p2", "network: dev\nnodeId: Node_A\npublicKey: \"" + KEY + "\"\n"),
                        "nodeId must be a node id: a DNS-1123 label"),
                Arguments.of("peer endpoint without port", peer("p3", "network: dev\nnodeId: node-a\npublicKey: \"" + KEY + "\"\nendpoint: 192.0.2.1\n"),
                        "endpoint must be host:port"),
                Arguments.of("peer endpoint port out of range", peer("p4", "network: dev\nnodeId: node-a\npublicKey: \"" + KEY + "\"\nendpoint: \"192.0.2.1:99999\"\n"),
                        "endpoint must be host:port"),
                Arguments.of("peer static address not IPv4", peer("p5", "network: dev\nnodeId: node-a\npublicKey: \"" + KEY + "\"\naddress: 10.0.0.300\n"),
                        "address must be an IPv4 address such as 10.100.0.7"),
                Arguments.of("peer unknown transport", peer("p6", "network: dev\nnodeId: node-a\npublicKey: \"" + KEY + "\"\ntransport: QUIC\n"),
                        "Unsupported value: \"QUIC\": supported values: \"TCP\", \"UDP\""),
                Arguments.of("network without spec", "apiVersion: vpn.dstack.io/v1alpha1\nkind: VpnNetwork\nmetadata:\n  name: nospec\n",
                        "spec: Required value"),
                Arguments.of("peer without network", peer("p7", "nodeId: node-a\npublicKey: \"" + KEY + "\"\n"),
                        "spec.network: Required value"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidObjects")
    void apiServerRejectsWithAClearMessage(String what, String yaml, String expected) {
        HasMetadata item = client.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).items().get(0);
        assertThatThrownBy(() -> client.resource(item).inNamespace(NS).create())
                .isInstanceOf(KubernetesClientException.class)
                .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(422))
                .hasMessageContaining(expected);
    }

    @Test
    void invalidObjectsAreManyDifferentKinds() {
        assertThat(invalidObjects().count()).isGreaterThanOrEqualTo(10);
    }

    @Test
    void cidrAndNodeIdAreImmutable() {
        VpnNetwork net = client.getKubernetesSerialization().unmarshal(network("immutable", "cidr: 10.50.0.0/24\n" + DEV_ACCESS), VpnNetwork.class);
        VpnNetwork created = client.resource(net).inNamespace(NS).create();
        created.getSpec().cidr = "10.51.0.0/24";
        assertThatThrownBy(() -> client.resource(created).inNamespace(NS).update())
                .hasMessageContaining("cidr is immutable");

        VpnPeer p = client.getKubernetesSerialization().unmarshal(
                peer("immutable", "network: immutable\nnodeId: node-a\npublicKey: \"" + KEY + "\"\n"), VpnPeer.class);
        VpnPeer createdPeer = client.resource(p).inNamespace(NS).create();
        createdPeer.getSpec().nodeId = "node-b";
        assertThatThrownBy(() -> client.resource(createdPeer).inNamespace(NS).update())
                .hasMessageContaining("nodeId is immutable");
    }

    @Test
    void validObjectGetsDefaults() {
        VpnNetwork net = client.getKubernetesSerialization().unmarshal(network("defaults", "cidr: 10.60.0.0/24\n" + DEV_ACCESS), VpnNetwork.class);
        VpnNetwork created = client.resource(net).inNamespace(NS).create();
        assertThat(created.getSpec().listenPort).isEqualTo(51820);
        assertThat(created.getSpec().mtu).isEqualTo(1420);
    }
}
