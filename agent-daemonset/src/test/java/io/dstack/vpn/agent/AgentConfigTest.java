package io.dstack.vpn.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.junit.jupiter.api.Test;

class AgentConfigTest {
    @Test
    void nodeIdFromALabelThenNodeIdThenNodeName() {
        Map<String, String> env = Map.of("NAMESPACE", "vpn", "NETWORK", "mesh", "NODE_NAME", "worker-1",
                "NODE_ID_LABEL", "vpn.dstack.io/node-id", "NODE_IP", "192.0.2.7");
        AgentConfig c = AgentConfig.fromEnv(env, label -> label.equals("vpn.dstack.io/node-id") ? "edge-7" : null);
        assertThat(c.nodeId()).isEqualTo("edge-7");
        assertThat(c.peerName()).isEqualTo("mesh-edge-7");
        assertThat(c.endpoint()).isEqualTo("192.0.2.7:51820");
        assertThat(AgentConfig.fromEnv(Map.of("NAMESPACE", "vpn", "NETWORK", "mesh", "NODE_NAME", "worker-1")).nodeId()).isEqualTo("worker-1");
        assertThat(c.commandPrefix()).isEmpty();
    }

    @Test
    void memoryBackendIsAFakeDeviceWithoutWireGuardGo() {
        Map<String, String> env = Map.of("NAMESPACE", "vpn", "NETWORK", "mesh", "NODE_ID", "n-1", "WG_BACKEND", "memory");
        assertThat(AgentConfig.fromEnv(env).memoryBackend()).isTrue();
        assertThat(AgentConfig.fromEnv(Map.of("NAMESPACE", "vpn", "NETWORK", "mesh", "NODE_ID", "n-1")).memoryBackend()).isFalse();
        assertThatThrownBy(() -> AgentConfig.fromEnv(Map.of("NAMESPACE", "vpn", "NETWORK", "mesh", "NODE_ID", "n-1", "WG_BACKEND", "memory",
                "START_WIREGUARD_GO", "true"))).hasMessageContaining("START_WIREGUARD_GO");
    }

    @Test
    void transportFromANodeLabelThenTransportThenUdp() {
        Map<String, String> env = Map.of("NAMESPACE", "vpn", "NETWORK", "mesh", "NODE_ID", "n-1", "TRANSPORT_LABEL", "vpn.dstack.io/transport");
        assertThat(AgentConfig.fromEnv(env, label -> label.equals("vpn.dstack.io/transport") ? "TCP" : null).transport()).isEqualTo("TCP");
        assertThat(AgentConfig.fromEnv(env, label -> null).transport()).isEqualTo("UDP");
        assertThat(AgentConfig.fromEnv(Map.of("NAMESPACE", "vpn", "NETWORK", "mesh", "NODE_ID", "n-1", "TRANSPORT", "TCP")).transport())
                .isEqualTo("TCP");
        assertThatThrownBy(() -> AgentConfig.fromEnv(env, label -> "tcp")).hasMessageContaining("TRANSPORT must be UDP or TCP");
    }

    @Test
    void missingSettingsAreNamed() {
        assertThatThrownBy(() -> AgentConfig.fromEnv(Map.of("NETWORK", "mesh"))).hasMessageContaining("NAMESPACE");
        assertThatThrownBy(() -> AgentConfig.fromEnv(Map.of("NAMESPACE", "vpn", "NETWORK", "mesh"))).hasMessageContaining("no node id");
    }

    @Test
    void theNodeProxyRunsInTheAgentUnlessTheAgentRunsOutsideTheNodesNamespace() {
        Map<String, String> node = Map.of("NAMESPACE", "vpn", "NETWORK", "mesh", "NODE_ID", "n-1");
        assertThat(AgentConfig.fromEnv(node).nodeProxyInProcess()).isTrue();
        Map<String, String> simulated = Map.of("NAMESPACE", "vpn", "NETWORK", "mesh", "NODE_ID", "n-1", "NETNS", "dvpn-a");
        assertThat(AgentConfig.fromEnv(simulated).nodeProxyInProcess()).isFalse();
        assertThat(AgentConfig.fromEnv(Map.of("NAMESPACE", "vpn", "NETWORK", "mesh", "NODE_ID", "n-1", "NODE_PROXY", "process"))
                .nodeProxyInProcess()).isFalse();
        assertThatThrownBy(() -> AgentConfig.fromEnv(Map.of("NAMESPACE", "vpn", "NETWORK", "mesh", "NODE_ID", "n-1", "NETNS", "dvpn-a",
                "NODE_PROXY", "in-process"))).hasMessageContaining("cannot listen inside NETNS dvpn-a");
        assertThatThrownBy(() -> AgentConfig.fromEnv(Map.of("NAMESPACE", "vpn", "NETWORK", "mesh", "NODE_ID", "n-1", "NODE_PROXY", "thread")))
                .hasMessageContaining("NODE_PROXY must be in-process or process, not thread");
    }
    @Test
    void aStandaloneNodeNeedsTheNodeApiAndDefaultsToTcp() {
        Map<String, String> env = Map.of("AGENT_MODE", "standalone", "NAMESPACE", "vpn", "NETWORK", "mesh", "NODE_ID", "tee-1",
                "NODE_NAME", "ignored", "NODE_API_URL", "https://vpn.example.com", "NODE_API_KEY", io.dstack.vpn.api.wireguard.WireGuardKey
                        .generatePrivate().publicKey().toBase64());
        AgentConfig c = AgentConfig.fromEnv(env);
        assertThat(c.standalone().url().toString()).isEqualTo("https://vpn.example.com");
        assertThat(c.transport()).as("CVMs cannot take UDP from each other").isEqualTo("TCP");
        assertThat(c.nodeName()).as("no Kubernetes node").isNull();
        assertThat(AgentConfig.fromEnv(Map.of("NAMESPACE", "vpn", "NETWORK", "mesh", "NODE_ID", "n-1")).standalone()).isNull();
        java.util.function.Function<Map<String, String>, Map<String, String>> with = extra -> {
            Map<String, String> m = new java.util.HashMap<>(env);
            m.putAll(extra);
            return m;
        };
        assertThatThrownBy(() -> AgentConfig.fromEnv(with.apply(Map.of("NODE_API_URL", "file:///etc/passwd"))))
                .hasMessageContaining("NODE_API_URL must be an http(s) URL");
        assertThatThrownBy(() -> AgentConfig.fromEnv(with.apply(Map.of("NODE_API_URL", "http://[::1"))))
                .hasMessageContaining("NODE_API_URL is not a URL");
        assertThatThrownBy(() -> AgentConfig.fromEnv(with.apply(Map.of("NODE_API_KEY", "not-a-key")))).hasMessageContaining("NODE_API_KEY must be");
        assertThatThrownBy(() -> AgentConfig.fromEnv(with.apply(Map.of("AGENT_MODE", "node-api")))).hasMessageContaining("AGENT_MODE must be");
        Map<String, String> noKey = new java.util.HashMap<>(env);
        noKey.remove("NODE_API_KEY");
        assertThatThrownBy(() -> AgentConfig.fromEnv(noKey)).hasMessageContaining("NODE_API_KEY is required");
    }
}
