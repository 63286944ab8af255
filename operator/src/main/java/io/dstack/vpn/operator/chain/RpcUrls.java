package io.dstack.vpn.operator.chain;

import java.net.URI;
import java.net.URISyntaxException;

import io.dstack.vpn.chain.rpc.RpcDestinations;
import io.dstack.vpn.chain.rpc.RpcEndpoint;
import io.dstack.vpn.chain.subscription.WebSocketUrl;

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
        String problem = destinations.staticProblem(WebSocketUrl.handshakeTarget(uri));
        return problem == null ? null : RpcEndpoint.displayName(uri) + " is not allowed: " + problem
                + " (the operator's RPC allow list, docs/adr/0010-rpc-destinations.md)";
    }

    private RpcUrls() {
    }
}
