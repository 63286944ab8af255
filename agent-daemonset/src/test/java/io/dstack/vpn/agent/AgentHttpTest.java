package io.dstack.vpn.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The agent shares the host's network: its metrics must answer on the address it is given, and nowhere else. */
class AgentHttpTest {
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private int get(String host, int port, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://" + host + ":" + port + path)).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    @Test
    void listensOnlyOnTheBoundAddress() throws Exception {
        // 127.0.0.2 is loopback on Linux too: a second local address without touching any interface.
        AgentHttp http = AgentHttp.start("127.0.0.2", 0, new AgentMetrics(), () -> true);
        try {
            assertThat(get("127.0.0.2", http.port(), "/healthz")).isEqualTo(200);
            assertThatThrownBy(() -> get("127.0.0.1", http.port(), "/metrics")).as("another local address of the host")
                    .isInstanceOf(ConnectException.class);
        } finally {
            http.stop();
        }
    }

    @Test
    void withoutABindAddressItListensEverywhere() throws Exception {
        AgentHttp http = AgentHttp.start(null, 0, new AgentMetrics(), () -> false);
        try {
            assertThat(get("127.0.0.1", http.port(), "/readyz")).isEqualTo(503);
            assertThat(get("127.0.0.2", http.port(), "/readyz")).isEqualTo(503);
        } finally {
            http.stop();
        }
    }

    @Test
    void theBindAddressComesFromHttpBind() {
        assertThat(AgentConfig.fromEnv(Map.of("NAMESPACE", "vpn", "NETWORK", "mesh", "NODE_ID", "n-1", "HTTP_BIND", "10.0.0.5")).httpBind())
                .isEqualTo("10.0.0.5");
        assertThat(AgentConfig.fromEnv(Map.of("NAMESPACE", "vpn", "NETWORK", "mesh", "NODE_ID", "n-1", "HTTP_BIND", " ")).httpBind()).isNull();
    }

    @Test
    void anUnresolvableBindAddressFailsTheStart() {
        assertThatThrownBy(() -> AgentHttp.start("no-such-host.invalid", 0, new AgentMetrics(), () -> true)).isInstanceOf(IOException.class);
    }
}
