package io.dstack.vpn.cli;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;

/**
 * Forwards JSON-RPC to a real node but hides {@code baseFeePerGas} from blocks, so the chain looks as it did
 * before EIP-1559. Anvil cannot run our contract on a pre-London hardfork (it needs Shanghai's PUSH0), and a
 * legacy transaction is still valid after London: this is how the legacy fallback is exercised for real.
 */
final class PreLondonProxy implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpServer server;
    private final HttpClient http = HttpClient.newHttpClient();

    PreLondonProxy(String target) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            byte[] request = exchange.getRequestBody().readAllBytes();
            byte[] reply;
            try {
                String body = http.send(HttpRequest.newBuilder(URI.create(target)).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(request)).build(), HttpResponse.BodyHandlers.ofString()).body();
                JsonNode r = JSON.readTree(body);
                if (r.path("result") instanceof ObjectNode block) {
                    block.remove("baseFeePerGas");
                }
                reply = JSON.writeValueAsBytes(r);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                reply = "{}".getBytes(StandardCharsets.UTF_8);
            }
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, reply.length);
            exchange.getResponseBody().write(reply);
            exchange.close();
        });
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
