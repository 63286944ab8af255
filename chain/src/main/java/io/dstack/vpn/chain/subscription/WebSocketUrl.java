package io.dstack.vpn.chain.subscription;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

import io.dstack.vpn.api.text.SafeText;
import io.dstack.vpn.chain.rpc.RpcDestinations;
import io.dstack.vpn.chain.rpc.RpcEndpoint;

/**
 * A ws:// or wss:// RPC URL, checked against the HTTP RPC's destination policy: a WebSocket opens with an HTTP
 * request to the same host and port, so {@code ws} is judged as {@code http} and {@code wss} as {@code https}.
 * The URL's path and query may hold an API key: only {@link #displayName()} is ever shown.
 */
public final class WebSocketUrl {
    private final URI uri;
    private final URI asHttp;
    private final String displayName;

    /** @throws IllegalArgumentException without the URL's text in the message */
    WebSocketUrl(String url) {
        URI parsed;
        try {
            parsed = new URI(url);
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalArgumentException("the WebSocket RPC URL is not a valid URL");
        }
        String scheme = parsed.getScheme() == null ? "" : parsed.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("ws") && !scheme.equals("wss")) {
            throw new IllegalArgumentException("only ws and wss URLs can be subscribed to, not '" + SafeText.bounded(scheme, 20) + "'");
        }
        if (parsed.getHost() == null) {
            throw new IllegalArgumentException("the WebSocket RPC URL has no host");
        }
        this.uri = parsed;
        this.displayName = RpcEndpoint.displayName(parsed);
        try {
            this.asHttp = handshake(parsed);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("the WebSocket RPC URL's host is not valid: " + displayName);
        }
    }

    /**
     * The HTTP request a WebSocket opens with: ws judged as http and wss as https, same host and port, no path or
     * query. Any other URL is returned as it is. The operator checks a network's URLs with this too.
     */
    public static URI handshakeTarget(URI uri) {
        try {
            return handshake(uri);
        } catch (URISyntaxException e) {
            return uri; // judged as it is: refused for its scheme
        }
    }

    private static URI handshake(URI uri) throws URISyntaxException {
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("ws") && !scheme.equals("wss")) {
            return uri;
        }
        return new URI(scheme.equals("ws") ? "http" : "https", null, uri.getHost(), uri.getPort(), "/", null, null);
    }

    URI uri() {
        return uri;
    }

    /** Scheme, host and port only. */
    String displayName() {
        return displayName;
    }

    /** Why no connection may be made, from the URL alone (no DNS), or null. */
    String staticProblem(RpcDestinations destinations) {
        return destinations.staticProblem(asHttp);
    }

    /** Why no connection may be made now, with DNS (every address must pass), or null. */
    String problem(RpcDestinations destinations) {
        return destinations.problem(asHttp);
    }

    /**
     * Text about this endpoint made safe to show: the URL's user info, path and query removed wherever they appear
     * (an exception message may quote the request line), then cleaned and bounded.
     */
    String redact(String text, int max) {
        if (text == null) {
            return "";
        }
        String out = text;
        for (String secret : new String[] {uri.getRawUserInfo(), uri.getRawQuery(), uri.getRawPath(), uri.getUserInfo(), uri.getQuery(),
                uri.getPath()}) {
            if (secret != null && secret.length() > 1) {
                out = out.replace(secret, "...");
            }
        }
        return SafeText.bounded(out, max);
    }
}
