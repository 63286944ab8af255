package io.dstack.vpn.testing;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * A minimal RFC 6455 WebSocket server on a loopback {@link ServerSocket} that plays a JSON-RPC node until a test
 * makes it attack: the chain subscription's endpoint is chosen by whoever may create a VpnNetwork. It does the
 * opening handshake and text, ping, pong and close frames, answers {@code eth_subscribe} with made-up subscription
 * ids (unless told not to) and pongs pings (unless told not to). Everything else is up to the test, per connection
 * ({@link Peer}): any text, fragmented messages, a message of any size streamed without holding it, raw frames.
 *
 * <p>Plain JDK and Jackson; no WebSocket library, so that nothing on this side smooths over what is sent.
 */
public final class HostileWebSocketServer implements AutoCloseable {
    /** The stand-in API key in {@link #url()}'s path and query: it must never show up in a status or an error. */
    public static final String SECRET = "WS-SECRET-API-KEY";
    private static final String ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    private static final int MAX_HANDSHAKE = 16 * 1024;
    private static final int MAX_INBOUND_FRAME = 1 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ServerSocket server;
    private final List<Peer> peers = new CopyOnWriteArrayList<>();
    private final AtomicInteger subscriptionIds = new AtomicInteger();
    private volatile boolean answerSubscribe = true;
    private volatile boolean answerPings = true;
    private volatile boolean closed;

    private HostileWebSocketServer() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread accept = new Thread(this::acceptLoop, "hostile-ws-accept");
        accept.setDaemon(true);
        accept.start();
    }

    /** Listens on a free loopback port. */
    public static HostileWebSocketServer start() throws IOException {
        return new HostileWebSocketServer();
    }

    /** {@code ws://127.0.0.1:<port>/v3/<SECRET>?apikey=<SECRET>}. */
    public String url() {
        return "ws://127.0.0.1:" + port() + "/v3/" + SECRET + "?apikey=" + SECRET;
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Whether eth_subscribe requests get an answer (default yes); affects requests from now on. */
    public HostileWebSocketServer answerSubscribe(boolean answer) {
        this.answerSubscribe = answer;
        return this;
    }

    /** Whether pings get a pong (default yes); without, a connection with nothing to send is completely silent. */
    public HostileWebSocketServer answerPings(boolean answer) {
        this.answerPings = answer;
        return this;
    }

    /** Connections that completed the opening handshake so far. */
    public int connections() {
        return peers.size();
    }

    /** The {@code index}-th connection (0-based), waiting for it. */
    public Peer awaitPeer(int index, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (peers.size() <= index) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no connection #" + index + " within " + timeout + " (" + peers.size() + " so far)");
            }
            Thread.sleep(5);
        }
        return peers.get(index);
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        for (Peer p : peers) {
            p.close();
        }
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket s = server.accept();
                Thread t = new Thread(() -> serve(s), "hostile-ws-peer");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return; // closed
            }
        }
    }

    private void serve(Socket socket) {
        try (socket) {
            socket.setTcpNoDelay(true);
            InputStream in = socket.getInputStream();
            String request = readHandshake(in);
            String key = header(request, "sec-websocket-key");
            if (key == null) {
                socket.getOutputStream().write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                return;
            }
            Peer peer = new Peer(socket, request.lines().findFirst().orElse(""));
            peer.writeRaw(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
                    + accept(key) + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            peers.add(peer);
            peer.readLoop(in);
        } catch (IOException e) {
            // the client went away or was dropped: expected in most tests
        }
    }

    private static String readHandshake(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        while (sb.length() < MAX_HANDSHAKE) {
            int b = in.read();
            if (b < 0) {
                throw new EOFException("handshake cut short");
            }
            sb.append((char) b);
            if (sb.length() >= 4 && sb.substring(sb.length() - 4).equals("\r\n\r\n")) {
                return sb.toString();
            }
        }
        throw new IOException("handshake too long");
    }

    private static String header(String request, String name) {
        for (String line : request.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().toLowerCase(Locale.ROOT).equals(name)) {
                return line.substring(colon + 1).trim();
            }
        }
        return null;
    }

    private static String accept(String key) {
        try {
            byte[] sha1 = MessageDigest.getInstance("SHA-1").digest((key + ACCEPT_GUID).getBytes(StandardCharsets.US_ASCII));
            return Base64.getEncoder().encodeToString(sha1);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** One client connection, for the test to drive. All send methods may be called from any thread. */
    public final class Peer {
        private final Socket socket;
        private final OutputStream out;
        private final String requestLine;
        private final List<String> received = new CopyOnWriteArrayList<>();
        private final Map<String, String> subscriptions = new ConcurrentHashMap<>();
        private final CountDownLatch bothSubscribed = new CountDownLatch(2);
        private final CountDownLatch ended = new CountDownLatch(1);

        private Peer(Socket socket, String requestLine) throws IOException {
            this.socket = socket;
            this.out = socket.getOutputStream();
            this.requestLine = requestLine;
        }

        /** The HTTP request line of the handshake ({@code GET /path?query HTTP/1.1}). */
        public String requestLine() {
            return requestLine;
        }

        /** Text messages received, in order. */
        public List<String> received() {
            return received;
        }

        /** The subscription id handed out for {@code "newHeads"} or {@code "logs"}, or null. */
        public String subscription(String kind) {
            return subscriptions.get(kind);
        }

        /** Waits until both subscriptions were asked for (and answered, if answering). */
        public boolean awaitSubscribed(Duration timeout) throws InterruptedException {
            return bothSubscribed.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }

        /** Waits until the client closed or dropped the connection. */
        public boolean awaitEnded(Duration timeout) throws InterruptedException {
            return ended.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }

        public boolean ended() {
            return ended.getCount() == 0;
        }

        public void sendText(String text) throws IOException {
            sendFrame(0x1, true, text.getBytes(StandardCharsets.UTF_8));
        }

        /** An {@code eth_subscription} notification; {@code resultJson} is sent as given (it may be anything). */
        public void notify(String subscription, String resultJson) throws IOException {
            sendText("{\"jsonrpc\":\"2.0\",\"method\":\"eth_subscription\",\"params\":{\"subscription\":\"" + subscription
                    + "\",\"result\":" + resultJson + "}}");
        }

        /** One text message split into frames of at most {@code fragmentBytes} (a text frame, then continuations). */
        public void sendFragmented(String text, int fragmentBytes) throws IOException {
            byte[] all = text.getBytes(StandardCharsets.UTF_8);
            synchronized (out) {
                for (int off = 0; off < all.length || off == 0; off += fragmentBytes) {
                    int end = Math.min(all.length, off + fragmentBytes);
                    byte[] part = java.util.Arrays.copyOfRange(all, off, end);
                    sendFrame(off == 0 ? 0x1 : 0x0, end == all.length, part);
                    if (end == all.length) {
                        break;
                    }
                }
            }
        }

        /**
         * One text frame that announces {@code bytes} bytes of JSON-looking text and streams them in 64 KiB pieces
         * without holding them, until done or the client hangs up.
         *
         * @return bytes of payload written before the client hung up (or all of them)
         */
        public long sendOversized(long bytes) {
            byte[] piece = new byte[64 * 1024];
            java.util.Arrays.fill(piece, (byte) 'a');
            piece[0] = '"';
            long written = 0;
            try {
                synchronized (out) {
                    out.write(frameHeader(0x1, true, bytes));
                    while (written < bytes) {
                        int n = (int) Math.min(piece.length, bytes - written);
                        out.write(piece, 0, n);
                        written += n;
                        piece[0] = 'a';
                    }
                    out.flush();
                }
            } catch (IOException clientHungUp) {
                // what the test hopes for
            }
            return written;
        }

        /** A raw frame, unmasked as from a server. */
        public void sendFrame(int opcode, boolean fin, byte[] payload) throws IOException {
            synchronized (out) {
                out.write(frameHeader(opcode, fin, payload.length));
                out.write(payload);
                out.flush();
            }
        }

        /** Bytes written as they are, without framing. */
        public void writeRaw(byte[] bytes) throws IOException {
            synchronized (out) {
                out.write(bytes);
                out.flush();
            }
        }

        /** Drops the TCP connection without a close frame. */
        public void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // already gone
            }
        }

        private void readLoop(InputStream in) throws IOException {
            StringBuilder message = new StringBuilder();
            try {
                while (true) {
                    int b0 = in.read();
                    int b1 = in.read();
                    if (b0 < 0 || b1 < 0) {
                        return;
                    }
                    boolean fin = (b0 & 0x80) != 0;
                    int opcode = b0 & 0x0f;
                    long length = b1 & 0x7f;
                    if (length == 126) {
                        length = ((long) in.read() << 8) | in.read();
                    } else if (length == 127) {
                        length = 0;
                        for (int i = 0; i < 8; i++) {
                            length = (length << 8) | in.read();
                        }
                    }
                    if (length < 0 || length > MAX_INBOUND_FRAME) {
                        return;
                    }
                    byte[] mask = (b1 & 0x80) != 0 ? in.readNBytes(4) : new byte[4];
                    byte[] payload = in.readNBytes((int) length);
                    if (payload.length < length) {
                        return;
                    }
                    for (int i = 0; i < payload.length; i++) {
                        payload[i] ^= mask[i % 4];
                    }
                    switch (opcode) {
                        case 0x1, 0x0 -> {
                            message.append(new String(payload, StandardCharsets.UTF_8));
                            if (fin) {
                                onText(message.toString());
                                message.setLength(0);
                            }
                        }
                        case 0x8 -> {
                            sendFrame(0x8, true, payload.length >= 2 ? java.util.Arrays.copyOf(payload, 2) : new byte[0]);
                            return;
                        }
                        case 0x9 -> {
                            if (answerPings) {
                                sendFrame(0xA, true, payload);
                            }
                        }
                        default -> {
                            // pongs and anything else: nothing to do
                        }
                    }
                }
            } finally {
                ended.countDown();
            }
        }

        private void onText(String text) throws IOException {
            received.add(text);
            JsonNode request;
            try {
                request = JSON.readTree(text);
            } catch (IOException notJson) {
                return;
            }
            if (!"eth_subscribe".equals(request.path("method").asText())) {
                return;
            }
            String kind = request.path("params").path(0).asText();
            String id = String.format("0x%032x", subscriptionIds.incrementAndGet());
            if (answerSubscribe) {
                subscriptions.put(kind, id);
                sendText("{\"jsonrpc\":\"2.0\",\"id\":" + request.path("id") + ",\"result\":\"" + id + "\"}");
            }
            bothSubscribed.countDown();
        }

        private byte[] frameHeader(int opcode, boolean fin, long length) {
            List<Byte> h = new ArrayList<>();
            h.add((byte) ((fin ? 0x80 : 0) | opcode));
            if (length < 126) {
                h.add((byte) length);
            } else if (length <= 0xffff) {
                h.add((byte) 126);
                h.add((byte) (length >> 8));
                h.add((byte) length);
            } else {
                h.add((byte) 127);
                for (int i = 7; i >= 0; i--) {
                    h.add((byte) (length >> (8 * i)));
                }
            }
            byte[] bytes = new byte[h.size()];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = h.get(i);
            }
            return bytes;
        }
    }
}
