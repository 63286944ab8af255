package io.dstack.vpn.agent.nodeapi;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small HTTP/1.1 server for an internet-facing port, with every limit per instance (the JDK's HttpServer takes
 * its limits from JVM-wide system properties and has no overall deadline per request): at most
 * {@code maxConnections} open connections (more are answered 503 and closed), a deadline for a whole request's
 * headers and body from its first byte (a client that trickles bytes is cut off, it cannot hold a connection by
 * sending a byte now and then), an idle limit between requests, a deadline for writing a response, and caps on header
 * and body size. Bodies need {@code Content-Length}; chunked bodies, obsolete line folding and control characters
 * are refused. One virtual thread per connection: a long-poll that waits 30 s costs a few kilobytes, not a thread.
 */
final class BoundedHttpServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BoundedHttpServer.class);
    private static final Pattern METHOD = Pattern.compile("[A-Z]{1,16}");
    private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+\\-.^_`|~0-9A-Za-z]{1,64}");
    private static final int MAX_TARGET = 2048;
    private static final int MAX_HEADERS = 64;
    private static final int TURN_AWAY_DRAIN_MILLIS = 250;
    private static final long ACCEPT_BACKOFF_MILLIS = 50;

    /**
     * @param requestTimeout from a request's first byte to its last (headers and body)
     * @param idleTimeout    how long a kept-alive connection may wait for its next request
     * @param writeTimeout   how long writing one response may take (a client that does not read is cut off)
     */
    record Limits(int maxConnections, Duration requestTimeout, Duration idleTimeout, Duration writeTimeout, int maxHeaderBytes,
            int maxBodyBytes) {
        static final Limits DEFAULT = new Limits(1000, Duration.ofSeconds(10), Duration.ofSeconds(90), Duration.ofSeconds(30), 16 * 1024,
                64 * 1024);
    }

    /** @param headers by lowercase name; @param query the raw query without '?', empty when absent */
    record Request(String method, String path, String query, Map<String, String> headers, byte[] body) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    record Response(int status, Map<String, String> headers, byte[] body) {
    }

    interface Handler {
        /** Answers one complete request; may block (a long-poll). */
        Response handle(Request request) throws InterruptedException;

        /** The answer to a request this layer refused before the handler saw it. */
        Response refuse(int status, String reason, String message);
    }

    private final ServerSocket socket;
    private final Limits limits;
    private final Handler handler;
    private final Semaphore slots;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "node-api-write-watchdog");
        t.setDaemon(true);
        return t;
    });
    private final Thread acceptor;
    private volatile boolean closed;

    private BoundedHttpServer(ServerSocket socket, Limits limits, Handler handler) {
        this.socket = socket;
        this.limits = limits;
        this.handler = handler;
        this.slots = new Semaphore(limits.maxConnections());
        this.acceptor = new Thread(this::acceptLoop, "node-api-accept");
        this.acceptor.setDaemon(true);
    }

    static BoundedHttpServer start(InetSocketAddress bind, Limits limits, Handler handler) throws IOException {
        ServerSocket ss = new ServerSocket();
        ss.setReuseAddress(true);
        ss.bind(bind, 256);
        BoundedHttpServer server = new BoundedHttpServer(ss, limits, handler);
        server.acceptor.start();
        return server;
    }

    int port() {
        return socket.getLocalPort();
    }

    /** Connections open now (metrics, tests). */
    int openConnections() {
        return open.size();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket s;
            try {
                s = socket.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("accept failed: {}", e.getMessage());
                    sleepQuietly(ACCEPT_BACKOFF_MILLIS); // out of file descriptors, say: do not spin
                }
                continue;
            }
            if (!slots.tryAcquire()) {
                Thread.ofVirtual().name("node-api-busy").start(() -> turnAway(s));
                continue;
            }
            open.add(s);
            Thread.ofVirtual().name("node-api-conn").start(() -> serve(s));
        }
    }

    /**
     * Answers 503 to a connection over the cap. A fresh connection's send buffer is empty, so the write does not
     * block; what the client already sent is read (briefly, a little) before closing, or the close would reset the
     * connection and the client might never see the answer.
     */
    private void turnAway(Socket s) {
        try (s) {
            write(s.getOutputStream(), handler.refuse(503, "Busy", "too many connections; try again later"), false);
            s.shutdownOutput();
            s.setSoTimeout(TURN_AWAY_DRAIN_MILLIS);
            s.getInputStream().readNBytes(4096);
        } catch (IOException ignored) {
            // it is closed either way
        }
    }

    private void serve(Socket s) {
        try (s) {
            s.setTcpNoDelay(true);
            DeadlineInput in = new DeadlineInput(s);
            OutputStream out = new BufferedOutputStream(s.getOutputStream(), 16 * 1024);
            while (!closed) {
                in.deadline(limits.idleTimeout());
                int first;
                try {
                    first = in.read();
                } catch (DeadlineExceeded idle) {
                    return;
                }
                if (first < 0) {
                    return;
                }
                in.deadline(limits.requestTimeout());
                Request request;
                boolean keepAlive;
                try {
                    Parsed parsed = parse(first, in);
                    request = parsed.request();
                    keepAlive = parsed.keepAlive();
                } catch (Malformed m) {
                    timedWrite(s, out, handler.refuse(m.status, m.reason, m.getMessage()), false);
                    return;
                } catch (DeadlineExceeded slow) {
                    timedWrite(s, out, handler.refuse(408, "RequestTimeout",
                            "the request did not arrive within " + limits.requestTimeout().toMillis() + " ms"), false);
                    return;
                }
                Response response;
                try {
                    response = handler.handle(request);
                } catch (RuntimeException e) {
                    LOG.warn("request {} {} failed: {}", request.method(), request.path(), e.toString());
                    response = handler.refuse(500, "Internal", "the node API failed to answer; try again");
                }
                timedWrite(s, out, response, keepAlive);
                if (!keepAlive) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            LOG.debug("connection ended: {}", e.toString());
        } finally {
            open.remove(s);
            slots.release();
        }
    }

    private void timedWrite(Socket s, OutputStream out, Response r, boolean keepAlive) throws IOException {
        ScheduledFuture<?> cut = watchdog.schedule(() -> closeQuietly(s), limits.writeTimeout().toMillis(), TimeUnit.MILLISECONDS);
        try {
            write(out, r, keepAlive);
        } finally {
            cut.cancel(false);
        }
    }

    private static void write(OutputStream out, Response r, boolean keepAlive) throws IOException {
        StringBuilder head = new StringBuilder(256);
        head.append("HTTP/1.1 ").append(r.status()).append(' ').append(reasonPhrase(r.status())).append("\r\n");
        r.headers().forEach((name, value) -> head.append(name).append(": ").append(value).append("\r\n"));
        boolean bodyAllowed = r.status() != 204 && r.status() != 304;
        if (bodyAllowed) {
            head.append("Content-Length: ").append(r.body().length).append("\r\n");
        }
        head.append("Connection: ").append(keepAlive ? "keep-alive" : "close").append("\r\n\r\n");
        out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
        if (bodyAllowed) {
            out.write(r.body());
        }
        out.flush();
    }

    private record Parsed(Request request, boolean keepAlive) {
    }

    private Parsed parse(int first, DeadlineInput in) throws IOException {
        int[] budget = {limits.maxHeaderBytes()};
        String requestLine = readLine(first, in, budget);
        String[] parts = requestLine.split(" ", -1);
        if (parts.length != 3 || !METHOD.matcher(parts[0]).matches()) {
            throw new Malformed(400, "BadRequest", "malformed request line");
        }
        String target = parts[1];
        if (target.length() > MAX_TARGET) {
            throw new Malformed(414, "BadRequest", "request target longer than " + MAX_TARGET + " characters");
        }
        if (!target.startsWith("/") || target.indexOf('#') >= 0) {
            throw new Malformed(400, "BadRequest", "request target must be a path");
        }
        boolean http11 = parts[2].equals("HTTP/1.1");
        if (!http11 && !parts[2].equals("HTTP/1.0")) {
            throw new Malformed(400, "BadRequest", "only HTTP/1.1 and HTTP/1.0 are served");
        }
        Map<String, String> headers = new LinkedHashMap<>();
        while (true) {
            int c = in.read();
            if (c < 0) {
                throw new Malformed(400, "BadRequest", "connection ended inside the headers");
            }
            String line = readLine(c, in, budget);
            if (line.isEmpty()) {
                break;
            }
            if (headers.size() >= MAX_HEADERS) {
                throw new Malformed(431, "HeadersTooLarge", "more than " + MAX_HEADERS + " header fields");
            }
            int colon = line.indexOf(':');
            if (colon <= 0 || !TOKEN.matcher(line.substring(0, colon)).matches()) {
                throw new Malformed(400, "BadRequest", "malformed header field"); // also obsolete line folding
            }
            String name = line.substring(0, colon).toLowerCase(Locale.ROOT);
            String value = line.substring(colon + 1).strip();
            if (headers.containsKey(name)) {
                if (name.startsWith("x-dvpn-") || name.equals("content-length") || name.equals("transfer-encoding") || name.equals("host")) {
                    throw new Malformed(400, "BadRequest", "header " + name + " given twice");
                }
                continue; // others: the first one counts
            }
            headers.put(name, value);
        }
        if (headers.containsKey("transfer-encoding")) {
            throw new Malformed(400, "BadRequest", "Transfer-Encoding is not accepted: send the body with Content-Length");
        }
        byte[] body = new byte[0];
        String length = headers.get("content-length");
        if (length != null) {
            if (!length.matches("[0-9]{1,12}")) {
                throw new Malformed(400, "BadRequest", "malformed Content-Length");
            }
            long n = Long.parseLong(length);
            if (n > limits.maxBodyBytes()) {
                throw new Malformed(413, "TooLarge", "body larger than " + limits.maxBodyBytes() + " bytes");
            }
            body = in.readFully((int) n);
        }
        String connection = headers.getOrDefault("connection", "").toLowerCase(Locale.ROOT);
        boolean keepAlive = http11 ? !connection.contains("close") : connection.contains("keep-alive");
        int q = target.indexOf('?');
        String path = q < 0 ? target : target.substring(0, q);
        String query = q < 0 ? "" : target.substring(q + 1);
        return new Parsed(new Request(parts[0], path, query, headers, body), keepAlive);
    }

    /** One line, CRLF-terminated, of visible ASCII, spaces and tabs; counts against the header budget. */
    private static String readLine(int first, DeadlineInput in, int[] budget) throws IOException {
        StringBuilder sb = new StringBuilder(64);
        int c = first;
        while (true) {
            if (--budget[0] < 0) {
                throw new Malformed(431, "HeadersTooLarge", "request line and headers exceed the size limit");
            }
            if (c == '\r') {
                if (in.read() != '\n') {
                    throw new Malformed(400, "BadRequest", "bare CR in the request head");
                }
                return sb.toString();
            }
            if (c < 0) {
                throw new Malformed(400, "BadRequest", "connection ended inside the request head");
            }
            if ((c < 0x20 && c != '\t') || c >= 0x7f) {
                throw new Malformed(400, "BadRequest", "control or non-ASCII character in the request head");
            }
            sb.append((char) c);
            c = in.read();
        }
    }

    private static String reasonPhrase(int status) {
        return switch (status) {
            case 200 -> "OK";
            case 204 -> "No Content";
            case 400 -> "Bad Request";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 405 -> "Method Not Allowed";
            case 408 -> "Request Timeout";
            case 409 -> "Conflict";
            case 413 -> "Content Too Large";
            case 414 -> "URI Too Long";
            case 429 -> "Too Many Requests";
            case 431 -> "Request Header Fields Too Large";
            case 503 -> "Service Unavailable";
            default -> status >= 500 ? "Server Error" : "Error";
        };
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing
        }
        open.forEach(BoundedHttpServer::closeQuietly);
        watchdog.shutdownNow();
    }

    /** The request did not arrive in time. */
    private static final class DeadlineExceeded extends IOException {
        DeadlineExceeded() {
            super("deadline exceeded");
        }
    }

    /** A request this layer refuses, with its status and reason. */
    private static final class Malformed extends IOException {
        final int status;
        final String reason;

        Malformed(int status, String reason, String message) {
            super(message);
            this.status = status;
            this.reason = reason;
        }
    }

    /**
     * A buffered socket input with an absolute deadline: before each read from the socket the read timeout is set to
     * the time left, so the deadline holds however slowly the bytes come.
     */
    private static final class DeadlineInput {
        private final Socket socket;
        private final InputStream raw;
        private final byte[] buf = new byte[8192];
        private int pos;
        private int lim;
        private long deadlineNanos;

        DeadlineInput(Socket socket) throws IOException {
            this.socket = socket;
            this.raw = socket.getInputStream();
        }

        void deadline(Duration d) {
            deadlineNanos = System.nanoTime() + d.toNanos();
        }

        int read() throws IOException {
            if (pos == lim && !fill()) {
                return -1;
            }
            return buf[pos++] & 0xff;
        }

        byte[] readFully(int n) throws IOException {
            byte[] out = new byte[n];
            int off = 0;
            while (off < n) {
                if (pos == lim && !fill()) {
                    throw new Malformed(400, "BadRequest", "connection ended inside the body");
                }
                int k = Math.min(n - off, lim - pos);
                System.arraycopy(buf, pos, out, off, k);
                pos += k;
                off += k;
            }
            return out;
        }

        private boolean fill() throws IOException {
            long leftMillis = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
            if (leftMillis <= 0) {
                throw new DeadlineExceeded();
            }
            try {
                socket.setSoTimeout((int) Math.min(Integer.MAX_VALUE, leftMillis));
                int n = raw.read(buf);
                if (n < 0) {
                    return false;
                }
                pos = 0;
                lim = n;
                return true;
            } catch (SocketTimeoutException e) {
                throw new DeadlineExceeded();
            }
        }
    }
}
