package io.dstack.vpn.agent;

import java.io.IOException;
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

    static AgentHttp start(int port, AgentMetrics metrics, BooleanSupplier ready) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(port), 0);
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

    void stop() {
        server.stop(0);
    }
}
