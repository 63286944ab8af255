package io.dstack.vpn.chain.subscription;

import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletionStage;

/**
 * One WebSocket connection (or attempt), as seen from the HttpClient's threads: assembles text messages under a
 * size cap and hands each whole message to the owner. It asks the WebSocket for the next message only after the
 * owner has handled the previous one, so at most one message is buffered and a fast server cannot queue more.
 *
 * <p>The JDK calls these methods one at a time but not always on the same thread; the owner moves everything onto
 * its control thread. Fields the control thread reads are volatile.
 */
final class Connection implements WebSocket.Listener {

    /** What the owner does with this connection's events; each method may be called from any thread. */
    interface Events {
        /** A whole text message; the owner calls {@link Connection#next()} when done with it. */
        void message(Connection c, String text);

        /** A binary message (never expected): rejected, and the owner calls {@link Connection#next()}. */
        void binary(Connection c);

        /** The connection is over (closed by the server, failed, or a message too large). */
        void ended(Connection c, String reason);
    }

    private final Events events;
    private final long maxMessageChars;
    private final StringBuilder text = new StringBuilder();
    private long binaryChars;
    private volatile WebSocket socket;
    private volatile long lastFrameNanos = System.nanoTime();

    // Owned by the control thread.
    String headsSubscription;
    String logsSubscription;
    boolean live;
    boolean deliveredAny;

    Connection(Events events, long maxMessageChars) {
        this.events = events;
        this.maxMessageChars = maxMessageChars;
    }

    @Override
    public void onOpen(WebSocket webSocket) {
        socket = webSocket;
        touch();
        webSocket.request(1);
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        touch();
        if (text.length() + (long) data.length() > maxMessageChars) {
            text.setLength(0);
            text.trimToSize();
            abort(); // stop reading before the rest of an oversized message arrives
            events.ended(this, "a message longer than " + maxMessageChars + " characters");
            return null;
        }
        text.append(data);
        if (!last) {
            webSocket.request(1);
            return null;
        }
        String whole = text.toString();
        text.setLength(0);
        if (text.capacity() > 64 * 1024) {
            text.trimToSize(); // do not keep the buffer of one large message for the connection's lifetime
        }
        events.message(this, whole);
        return null;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
        touch();
        binaryChars += data.remaining();
        if (binaryChars > maxMessageChars) {
            abort();
            events.ended(this, "a binary message longer than " + maxMessageChars + " bytes");
            return null;
        }
        if (!last) {
            webSocket.request(1);
            return null;
        }
        binaryChars = 0;
        events.binary(this);
        return null;
    }

    @Override
    public CompletionStage<?> onPing(WebSocket webSocket, ByteBuffer message) {
        touch(); // the JDK answers with a pong itself
        webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onPong(WebSocket webSocket, ByteBuffer message) {
        touch();
        webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        events.ended(this, "the server closed the connection (" + statusCode + " " + reason + ")");
        return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
        events.ended(this, error.getClass().getSimpleName() + (error.getMessage() == null ? "" : " " + error.getMessage()));
    }

    /** Ready for the next message. */
    void next() {
        WebSocket s = socket;
        if (s != null) {
            s.request(1);
        }
    }

    void opened(WebSocket webSocket) {
        socket = webSocket;
    }

    WebSocket socket() {
        return socket;
    }

    /** Closes the TCP connection at once; no close handshake with a server that may not answer. */
    void abort() {
        WebSocket s = socket;
        if (s != null) {
            s.abort();
        }
    }

    long idleNanos() {
        return System.nanoTime() - lastFrameNanos;
    }

    private void touch() {
        lastFrameNanos = System.nanoTime();
    }
}
