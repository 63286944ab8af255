package io.dstack.vpn.chain.subscription;

import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.dstack.vpn.chain.contract.Hex;

/**
 * Subscribes to new heads and to the access contract's logs over one WebSocket (JSON-RPC {@code eth_subscribe}),
 * so that a follower can react to a block within milliseconds instead of on its poll interval. It reconnects with
 * exponential backoff and full jitter and subscribes again on every connection; see
 * docs/adr/0012-chain-subscriptions.md.
 *
 * <p>The server is untrusted: messages are bounded in size (over all fragments), the subscribe answers have a
 * deadline, a silent connection is dropped, and malformed messages, heads and logs are counted and skipped, never
 * thrown at the caller. The URL's path and query may hold an API key: only scheme, host and port are ever shown.
 *
 * <p>Threads: one control thread per subscription does everything stateful (connects, timers, message handling)
 * and makes every listener call, in order. The HttpClient's own threads only assemble frames and hand whole
 * messages over. {@link #close()} stops them all.
 */
public final class ChainSubscription implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ChainSubscription.class);
    /** Longest reason kept: enough to read, short enough for a status field. */
    static final int MAX_REASON = 300;
    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final WebSocketUrl url;
    private final String contract;
    private final SubscriptionSettings settings;
    private final SubscriptionListener listener;
    private final Backoff backoff;
    private final ScheduledThreadPoolExecutor control;
    private final ExecutorService io;
    private final HttpClient http;
    private volatile Thread controlThread;

    private final AtomicLong connects = new AtomicLong();
    private final AtomicLong attempts = new AtomicLong();
    private final AtomicLong notifications = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private final AtomicLong ignored = new AtomicLong();
    private volatile int consecutiveFailures;
    private volatile SubscriptionState state = SubscriptionState.DOWN;
    private volatile String lastProblem;
    private volatile boolean started;
    private volatile boolean closed;

    // Control thread only.
    private Connection current;
    private ScheduledFuture<?> timer;

    /**
     * @param url      ws:// or wss:// endpoint; may carry an API key in its path or query
     * @param contract the access contract's address
     * @throws IllegalArgumentException for a URL that is not ws/wss, a destination the policy denies without a
     *                                  lookup (a private address, a cluster name), or a malformed address; the
     *                                  message never contains the URL's path or query
     */
    public ChainSubscription(String url, String contract, SubscriptionSettings settings, SubscriptionListener listener) {
        this.url = new WebSocketUrl(url);
        if (!Hex.isAddress(contract)) {
            throw new IllegalArgumentException("malformed contract address " + Hex.shown(contract));
        }
        String denied = this.url.staticProblem(settings.destinations());
        if (denied != null) {
            throw new IllegalArgumentException(this.url.displayName() + ": destination not allowed: " + denied
                    + " (the operator's RPC allow list, docs/adr/0010-rpc-destinations.md)");
        }
        this.contract = contract.toLowerCase(Locale.ROOT);
        this.settings = settings;
        this.listener = listener;
        this.backoff = settings.backoff();
        int n = INSTANCES.incrementAndGet();
        this.control = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "chain-subscription-" + n + " " + this.url.displayName());
            t.setDaemon(true);
            controlThread = t;
            return t;
        });
        control.setRemoveOnCancelPolicy(true);
        control.setExecuteExistingDelayedTasksAfterShutdownPolicy(false); // close() must not wait for a retry
        AtomicInteger ioThreads = new AtomicInteger();
        this.io = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "chain-subscription-" + n + "-io-" + ioThreads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        // No redirects: a redirect would bypass the destination check.
        this.http = HttpClient.newBuilder().executor(io).connectTimeout(settings.subscribeDeadline())
                .followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /** Starts connecting; returns at once. */
    public synchronized void start() {
        if (started || closed) {
            return;
        }
        started = true;
        onControl(this::connect);
    }

    /** Scheme, host and port of the endpoint. */
    public String displayName() {
        return url.displayName();
    }

    public SubscriptionState state() {
        return state;
    }

    /** Connection attempts in a row that ended before delivering a head or log; 0 while things flow. */
    public int consecutiveFailures() {
        return consecutiveFailures;
    }

    /** Whether {@code failuresBeforeFallback} attempts in a row failed: the caller should poll until connected again. */
    public boolean fallbackAdvised() {
        return consecutiveFailures >= settings.failuresBeforeFallback();
    }

    public SubscriptionStats stats() {
        long a = attempts.get();
        return new SubscriptionStats(state, connects.get(), Math.max(0, a - 1), notifications.get(), rejected.get(), ignored.get(),
                consecutiveFailures, lastProblem);
    }

    /**
     * Stops connecting, drops the connection and ends this subscription's threads, waiting up to a few seconds for
     * them. No listener call follows. Called from a listener call, it does not wait for its own thread.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            control.execute(this::dropSilently);
        } catch (RejectedExecutionException alreadyStopped) {
            // nothing to drop
        }
        control.shutdown();
        http.shutdownNow();
        io.shutdownNow();
        if (Thread.currentThread() == controlThread) {
            return;
        }
        try {
            if (!control.awaitTermination(5, TimeUnit.SECONDS)) {
                control.shutdownNow();
            }
            http.awaitTermination(Duration.ofSeconds(5));
            io.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        state = SubscriptionState.DOWN;
    }

    // ---- control thread ----

    private void connect() {
        if (closed) {
            return;
        }
        attempts.incrementAndGet();
        state = SubscriptionState.CONNECTING;
        Connection c = new Connection(events, settings.maxMessageChars());
        current = c;
        String denied = url.problem(settings.destinations()); // again with DNS: what a name resolves to may change
        if (denied != null) {
            end(c, "destination not allowed: " + denied + " (the operator's RPC allow list, docs/adr/0010-rpc-destinations.md)");
            return;
        }
        timer = control.schedule(() -> {
            if (current == c && !c.live) {
                end(c, "no confirmed subscriptions within " + settings.subscribeDeadline().toMillis() + " ms");
            }
        }, settings.subscribeDeadline().toNanos(), TimeUnit.NANOSECONDS);
        CompletableFuture<WebSocket> opening;
        try {
            opening = http.newWebSocketBuilder().connectTimeout(settings.subscribeDeadline()).buildAsync(url.uri(), c);
        } catch (RuntimeException e) {
            end(c, "cannot connect: " + describe(e));
            return;
        }
        opening.whenComplete((socket, error) -> onControl(() -> opened(c, socket, error)));
    }

    private void opened(Connection c, WebSocket socket, Throwable error) {
        if (current != c) {
            if (socket != null) {
                socket.abort(); // opened after its deadline or after close()
            }
            return;
        }
        if (error != null) {
            end(c, "cannot connect: " + describe(error));
            return;
        }
        c.opened(socket);
        socket.sendText(SubscriptionProtocol.subscribeHeads(), true)
                .thenCompose(s -> s.sendText(SubscriptionProtocol.subscribeLogs(contract), true))
                .whenComplete((s, e) -> {
                    if (e != null) {
                        onControl(() -> end(c, "cannot send eth_subscribe: " + describe(e)));
                    }
                });
    }

    private void handle(Connection c, String text) {
        if (current != c || closed) {
            return;
        }
        switch (SubscriptionProtocol.read(text)) {
            case SubscriptionProtocol.Invalid invalid -> reject(invalid.reason());
            case SubscriptionProtocol.Answer answer -> answered(c, answer);
            case SubscriptionProtocol.Notification n -> notified(c, n);
        }
    }

    private void answered(Connection c, SubscriptionProtocol.Answer answer) {
        String what = answer.id() == SubscriptionProtocol.HEADS_REQUEST ? "newHeads"
                : answer.id() == SubscriptionProtocol.LOGS_REQUEST ? "logs" : null;
        if (what == null) {
            reject("an answer to request id " + answer.id() + ", which was never sent");
            return;
        }
        if (answer.error() != null) {
            end(c, "eth_subscribe " + what + " refused: " + answer.error());
            return;
        }
        if (what.equals("newHeads")) {
            c.headsSubscription = answer.subscription();
        } else {
            c.logsSubscription = answer.subscription();
        }
        if (c.headsSubscription == null || c.logsSubscription == null || c.live) {
            return;
        }
        if (c.headsSubscription.equals(c.logsSubscription)) {
            end(c, "the server gave both subscriptions the same id");
            return;
        }
        c.live = true;
        timer.cancel(false);
        long ping = settings.pingInterval().toNanos();
        timer = control.scheduleWithFixedDelay(() -> keepAlive(c), ping, ping, TimeUnit.NANOSECONDS);
        connects.incrementAndGet();
        state = SubscriptionState.LIVE;
        LOG.info("Subscribed to new heads and the logs of {} at {}", contract, url.displayName());
        deliver(l -> l.connected());
    }

    private void notified(Connection c, SubscriptionProtocol.Notification n) {
        boolean heads = n.subscription().equals(c.headsSubscription);
        boolean logs = n.subscription().equals(c.logsSubscription);
        if (!c.live || (!heads && !logs)) {
            ignored.incrementAndGet();
            return;
        }
        if (heads) {
            Head head;
            try {
                head = Head.parse(n.result());
            } catch (IllegalArgumentException e) {
                reject(e.getMessage());
                return;
            }
            progressed(c);
            deliver(l -> l.head(head));
        } else {
            String problem = SubscriptionProtocol.logProblem(contract, n.result());
            if (problem != null) {
                reject(problem);
                return;
            }
            progressed(c);
            deliver(l -> l.log(n.result()));
        }
    }

    private void progressed(Connection c) {
        notifications.incrementAndGet();
        if (!c.deliveredAny) {
            c.deliveredAny = true;
            consecutiveFailures = 0; // only data proves a connection works; a server that subscribes and hangs up does not
        }
    }

    private void keepAlive(Connection c) {
        if (current != c) {
            return;
        }
        if (c.idleNanos() > settings.idleTimeout().toNanos()) {
            end(c, "no message for " + settings.idleTimeout().toMillis() + " ms");
            return;
        }
        WebSocket s = c.socket();
        if (s != null) {
            // A failed ping (one still pending: the server reads nothing) is left to the idle timeout.
            s.sendPing(java.nio.ByteBuffer.allocate(0));
        }
    }

    /** Ends the connection (or attempt), tells the listener and schedules the next attempt. */
    private void end(Connection c, String reason) {
        if (current != c) {
            return;
        }
        current = null;
        if (timer != null) {
            timer.cancel(false);
        }
        c.abort();
        if (!c.deliveredAny) {
            consecutiveFailures++;
        }
        String shown = url.displayName() + ": " + url.redact(reason, MAX_REASON);
        lastProblem = shown;
        state = SubscriptionState.DOWN;
        if (c.live) {
            LOG.warn("Subscription lost: {}", shown);
        } else {
            LOG.debug("Subscription attempt failed ({} in a row): {}", consecutiveFailures, shown);
        }
        deliver(l -> l.disconnected(shown));
        if (!closed) {
            Duration delay = backoff.delay(consecutiveFailures);
            timer = control.schedule(this::connect, delay.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    private void dropSilently() {
        if (current != null) {
            current.abort();
            current = null;
        }
        if (timer != null) {
            timer.cancel(false);
        }
        state = SubscriptionState.DOWN;
    }

    private void reject(String reason) {
        rejected.incrementAndGet();
        lastProblem = url.displayName() + ": rejected " + url.redact(reason, MAX_REASON);
        LOG.debug("{}", lastProblem);
    }

    private void deliver(Consumer<SubscriptionListener> call) {
        if (closed) {
            return;
        }
        try {
            call.accept(listener);
        } catch (RuntimeException e) {
            LOG.warn("Subscription listener failed on {}: {}", url.displayName(), e.toString());
        }
    }

    private String describe(Throwable error) {
        Throwable e = error;
        while ((e instanceof java.util.concurrent.CompletionException || e instanceof java.util.concurrent.ExecutionException)
                && e.getCause() != null) {
            e = e.getCause();
        }
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : " " + e.getMessage());
    }

    private void onControl(Runnable task) {
        try {
            control.execute(task);
        } catch (RejectedExecutionException closing) {
            // close() has begun: nothing more to do
        }
    }

    /** Connection events, from the HttpClient's threads, moved onto the control thread. */
    private final Connection.Events events = new Connection.Events() {
        @Override
        public void message(Connection c, String text) {
            onControl(() -> {
                handle(c, text);
                c.next();
            });
        }

        @Override
        public void binary(Connection c) {
            onControl(() -> {
                if (current == c) {
                    reject("a binary message");
                }
                c.next();
            });
        }

        @Override
        public void ended(Connection c, String reason) {
            onControl(() -> end(c, reason));
        }
    };
}
