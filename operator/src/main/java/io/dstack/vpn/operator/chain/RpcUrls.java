package io.dstack.vpn.operator.chain;

import java.net.URI;
import java.net.URISyntaxException;

import io.dstack.vpn.chain.rpc.RpcDestinations;
import io.dstack.vpn.chain.rpc.RpcEndpoint;

/** Checks one RPC URL of a VpnNetwork before a follower uses it. Never echoes the URL: it may hold an API key. */
final class RpcUrls {

    /** Why the URL cannot be used, or null. Names the endpoint as scheme://host:port at most. */
    static String problem(String url, RpcDestinations destinations) {
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            return "not a valid URL"; // URISyntaxException's message quotes the whole input
        }
        if (uri.getHost() == null) {
            return "not a valid http(s) URL with a host";
        }
        String problem = destinations.staticProblem(asHttp(uri));
        return problem == null ? null : RpcEndpoint.displayName(uri) + " is not allowed: " + problem
                + " (the operator's RPC allow list, docs/adr/0010-rpc-destinations.md)";
    }

    /**
     * A WebSocket opens with an HTTP request to the same host and port: ws is judged as http and wss as https, as
     * the subscription itself does before each connection (chain's WebSocketUrl).
     */
    private static URI asHttp(URI uri) {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(java.util.Locale.ROOT);
        if (!scheme.equals("ws") && !scheme.equals("wss")) {
            return uri;
        }
        try {
            return new URI(scheme.equals("ws") ? "http" : "https", null, uri.getHost(), uri.getPort(), "/", null, null);
        } catch (URISyntaxException e) {
            return uri; // judged as it is: refused for its scheme
        }
    }

    private RpcUrls() {
    }
}
