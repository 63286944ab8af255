package io.dstack.vpn.agent.nodeapi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.dstack.vpn.api.wireguard.WireGuardKey;

class NodeApiConfigTest {
    @TempDir
    Path dir;

    Map<String, String> env(WireGuardKey key) throws Exception {
        Path file = dir.resolve("current");
        Files.writeString(file, key.toBase64() + "\n");
        Map<String, String> env = new HashMap<>();
        env.put("NAMESPACE", "vpn");
        env.put("NODE_API_KEY_FILE", file.toString());
        return env;
    }

    @Test
    void defaults() throws Exception {
        WireGuardKey key = WireGuardKey.generatePrivate();
        NodeApiConfig c = NodeApiConfig.fromEnv(env(key));
        assertThat(c.settings().namespace()).isEqualTo("vpn");
        assertThat(c.settings().networks()).isEmpty();
        assertThat(c.settings().bind().getPort()).isEqualTo(9480);
        assertThat(c.settings().pollTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.httpPort()).isEqualTo(9464);
        assertThat(c.currentKey()).isEqualTo(key);
        assertThat(c.previousKey()).isNull();
        assertThat(c.toString()).doesNotContain(key.toBase64());
    }

    @Test
    void networksPortsAndThePreviousKey() throws Exception {
        WireGuardKey key = WireGuardKey.generatePrivate();
        WireGuardKey old = WireGuardKey.generatePrivate();
        Map<String, String> env = env(key);
        Files.writeString(dir.resolve("previous"), old.toBase64());
        env.put("NODE_API_PREVIOUS_KEY_FILE", dir.resolve("previous").toString());
        env.put("NETWORKS", "mesh, other");
        env.put("NODE_API_PORT", "8080");
        env.put("MAX_CONNECTIONS", "50");
        env.put("POLL_TIMEOUT_SECONDS", "5");
        NodeApiConfig c = NodeApiConfig.fromEnv(env);
        assertThat(c.settings().networks()).isEqualTo(Set.of("mesh", "other"));
        assertThat(c.settings().bind().getPort()).isEqualTo(8080);
        assertThat(c.settings().maxConnections()).isEqualTo(50);
        assertThat(c.settings().pollTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.previousKey()).isEqualTo(old);
    }

    @Test
    void aMissingPreviousKeyFileMeansNone() throws Exception {
        Map<String, String> env = env(WireGuardKey.generatePrivate());
        env.put("NODE_API_PREVIOUS_KEY_FILE", dir.resolve("previous").toString());
        assertThat(NodeApiConfig.fromEnv(env).previousKey()).isNull();
    }

    @Test
    void badSettingsAreRefusedClearlyAndKeysAreNeverEchoed() throws Exception {
        WireGuardKey key = WireGuardKey.generatePrivate();
        Map<String, String> env = env(key);
        env.remove("NAMESPACE");
        assertThatThrownBy(() -> NodeApiConfig.fromEnv(env)).hasMessageContaining("NAMESPACE is required");
        Map<String, String> badKey = env(key);
        String secretLooking = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I";
        Files.writeString(dir.resolve("current"), secretLooking);
        assertThatThrownBy(() -> NodeApiConfig.fromEnv(badKey)).hasMessageContaining("NODE_API_KEY_FILE").hasMessageNotContaining(secretLooking);
        Map<String, String> poll = env(key);
        poll.put("POLL_TIMEOUT_SECONDS", "31");
        assertThatThrownBy(() -> NodeApiConfig.fromEnv(poll)).hasMessageContaining("POLL_TIMEOUT_SECONDS must be an integer from 1 to 30");
        Map<String, String> nets = env(key);
        nets.put("NETWORKS", "Mesh_1");
        assertThatThrownBy(() -> NodeApiConfig.fromEnv(nets)).hasMessageContaining("NETWORKS");
    }
}
