package io.dstack.vpn.proxy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/** /metrics (Prometheus text) and /healthz for the Deployment's probes. */
final class ProxyHttp implements AutoCloseable {
    private final HttpServer server;

    ProxyHttp(InetSocketAddress listen, ProxyMetrics metrics) throws IOException {
        server = HttpServer.create(listen, 0);
        server.createContext("/metrics", ex -> reply(ex, metrics.prometheus()));
        server.createContext("/healthz", ex -> reply(ex, "ok\n"));
        server.start();
    }

    private static void reply(HttpExchange ex, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        ex.sendResponseHeaders(200, bytes.length);
        ex.getResponseBody().write(bytes);
        ex.close();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
