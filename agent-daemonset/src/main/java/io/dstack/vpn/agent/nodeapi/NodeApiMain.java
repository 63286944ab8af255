package io.dstack.vpn.agent.nodeapi;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;

/**
 * The agent image's second entry point (ADR 0015): the node API, run by the chart as its own Deployment
 * ({@code java -cp agent.jar io.dstack.vpn.agent.nodeapi.NodeApiMain}). Plain HTTP on NODE_API_PORT (9480), to be
 * exposed through a Service or an Ingress that may end TLS; /healthz, /readyz and /metrics on HTTP_PORT (9464).
 */
public final class NodeApiMain {
    private static final Logger LOG = LoggerFactory.getLogger(NodeApiMain.class);

    public static void main(String[] args) throws Exception {
        NodeApiConfig config;
        try {
            config = NodeApiConfig.fromEnv(System.getenv());
        } catch (IllegalArgumentException | IOException e) {
            LOG.error("the node API cannot start: {}", e.getMessage());
            System.exit(2);
            return;
        }
        KubernetesClient client = new KubernetesClientBuilder().build();
        NodeApiServer server;
        HttpServer health;
        try {
            server = NodeApiServer.start(client, config.settings(), config.currentKey(), config.previousKey());
            health = health(config, server);
        } catch (IOException | RuntimeException e) {
            LOG.error("the node API could not start: {}", e.toString());
            System.exit(1);
            return;
        }
        if (config.previousKey() != null) {
            LOG.info("the previous node-API key (public {}) is accepted too, while bundles move to the new one",
                    config.previousKey().publicKey().toBase64());
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            health.stop(0);
            server.close();
            client.close();
        }, "node-api-shutdown"));
        Thread.currentThread().join();
    }

    /** /healthz (alive), /readyz (listening and the peer sets listed once), /metrics (Prometheus text). */
    static HttpServer health(NodeApiConfig config, NodeApiServer server) throws IOException {
        InetSocketAddress bind = config.httpBind() == null ? new InetSocketAddress(config.httpPort())
                : new InetSocketAddress(InetAddress.getByName(config.httpBind()), config.httpPort());
        HttpServer http = HttpServer.create(bind, 0);
        http.createContext("/healthz", ex -> reply(ex, 200, "ok\n"));
        http.createContext("/readyz", ex -> reply(ex, server.ready() ? 200 : 503, server.ready() ? "ready\n" : "peer sets not listed yet\n"));
        http.createContext("/metrics", ex -> reply(ex, 200, server.metrics().prometheus()));
        http.start();
        return http;
    }

    private static void reply(HttpExchange ex, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, bytes.length);
        ex.getResponseBody().write(bytes);
        ex.close();
    }

    private NodeApiMain() {
    }
}
