package io.dstack.vpn.agent;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/** /metrics (Prometheus text), /healthz (alive) and /readyz (a peer set has been received). */
final class AgentHttp {
    private final HttpServer server;

    private AgentHttp(HttpServer server) {
        this.server = server;
    }

    /**
     * @param bind the address to listen on; null listens on every interface. On a node the agent shares the
     *             host's network, so the chart binds the node's own address (HTTP_BIND): every interface would
     *             include the WireGuard overlay and any public one.
     */
    static AgentHttp start(String bind, int port, AgentMetrics metrics, BooleanSupplier ready) throws IOException {
        HttpServer server = HttpServer.create(bind == null ? new InetSocketAddress(port) : new InetSocketAddress(InetAddress.getByName(bind), port), 0);
        server.createContext("/metrics", ex -> reply(ex, 200, metrics.prometheus()));
        server.createContext("/healthz", ex -> reply(ex, 200, "ok\n"));
        server.createContext("/readyz", ex -> reply(ex, ready.getAsBoolean() ? 200 : 503, ready.getAsBoolean() ? "ready\n" : "no peer set yet\n"));
        server.start();
        return new AgentHttp(server);
    }

    private static void reply(HttpExchange ex, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, bytes.length);
        ex.getResponseBody().write(bytes);
        ex.close();
    }

    /** The port it listens on (the one asked for, or the one the system chose for 0). */
    int port() {
        return server.getAddress().getPort();
    }

    void stop() {
        server.stop(0);
    }
}
