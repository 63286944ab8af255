package io.dstack.vpn.proxy;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Test;

/**
 * Loopback: per-datagram round-trip latency and throughput through udp2tcp → tcp2udp → a UDP echo, beside
 * the same echo reached over plain UDP and, when {@code bench.rustPeer} names its binary, through a Rust
 * UDP-over-TCP tunnel, with 1 and 16 concurrent connections. Not a CI test: run hack/bench-proxy.sh.
 * Prints markdown table rows.
 */
class ProxyBenchmark {
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    static final int ROUND_TRIPS = Integer.getInteger("bench.roundTrips", 20_000);
    static final int DATAGRAM = 1420; // a full WireGuard packet at the default MTU

    record Result(String name, int samples, double p50Micros, double p99Micros, double datagramsPerSecond, double mbitPerSecond) {
    }

    @Test
    void latencyAndThroughput() throws Exception {
        String rust = System.getProperty("bench.rustPeer", "");
        try (UdpEcho echo = new UdpEcho();
                Tcp2Udp server = new Tcp2Udp(List.of(new InetSocketAddress(LOOPBACK, 0)), echo.address(), LOOPBACK,
                        TcpOptions.DEFAULTS, 64, new ProxyMetrics())) {
            for (int connections : new int[] {1, 16}) {
                ours(connections, server); // warm-up (JIT), not printed
                // Back to back, so the paths share the machine's state of the moment.
                Result direct = direct(connections, echo.address());
                Result proxied = ours(connections, server);
                List<Result> results = new ArrayList<>(List.of(direct, proxied));
                if (!rust.isEmpty()) {
                    results.add(rustPeer(rust, connections, echo.address()));
                }
                for (Result r : results) {
                    System.out.printf("| %s | %d | %d | %.1f | %.1f | %.0f | %.2f |%n", r.name, connections, r.samples, r.p50Micros,
                            r.p99Micros, r.datagramsPerSecond, r.mbitPerSecond);
                }
                for (Result r : results.subList(1, results.size())) {
                    System.out.printf("| ratio %s / direct UDP | %d | | %.2f× | %.2f× | %.2f× | |%n", r.name, connections,
                            r.p50Micros / direct.p50Micros, r.p99Micros / direct.p99Micros, r.datagramsPerSecond / direct.datagramsPerSecond);
                }
            }
        }
    }

    static Result direct(int connections, InetSocketAddress echo) throws Exception {
        return measure("direct UDP", connections, c -> lockstep(new InetSocketAddress(LOOPBACK, 0), echo));
    }

    static Result ours(int connections, Tcp2Udp server) throws Exception {
        return measure("udp2tcp+tcp2udp (ours)", connections, c -> {
            try (Udp2Tcp tunnel = new Udp2Tcp(new InetSocketAddress(LOOPBACK, 0), server.boundAddresses().get(0),
                    TcpOptions.DEFAULTS, new ProxyMetrics())) {
                return lockstep(new InetSocketAddress(LOOPBACK, 0), tunnel.localAddress());
            }
        });
    }

    /**
     * The same lockstep echo through jonhoo's udp-over-tcp (Rust, tokio; crates.io `udp-over-tcp`): not Mullvad's
     * tool and not its framing, but the same shape (a UDP socket at each end, one TCP stream between), so it
     * shows what a native implementation costs on this machine. One process pair per connection.
     */
    static Result rustPeer(String binary, int connections, InetSocketAddress echo) throws Exception {
        List<Process> processes = new ArrayList<>();
        List<int[]> ports = new ArrayList<>(); // per connection: the app's port, the client end's UDP port
        try {
            for (int c = 0; c < connections; c++) {
                int tcp = freePort();
                int serverUdp = freePort();
                int clientUdp = freePort();
                int app = freePort();
                processes.add(start(binary, "--tcp-listen", "127.0.0.1:" + tcp, "--udp-bind", "127.0.0.1:" + serverUdp,
                        "--udp-sendto", "127.0.0.1:" + echo.getPort()));
                Thread.sleep(200); // listen before connect
                processes.add(start(binary, "--tcp-connect", "127.0.0.1:" + tcp, "--udp-bind", "127.0.0.1:" + clientUdp,
                        "--udp-sendto", "127.0.0.1:" + app));
                ports.add(new int[] {app, clientUdp});
            }
            Thread.sleep(500);
            return measure("udp-over-tcp (jonhoo, Rust)", connections,
                    c -> lockstep(new InetSocketAddress(LOOPBACK, ports.get(c)[0]), new InetSocketAddress(LOOPBACK, ports.get(c)[1])));
        } finally {
            processes.forEach(Process::destroyForcibly);
        }
    }

    private static Process start(String... command) throws IOException {
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, LOOPBACK)) {
            return s.getLocalPort();
        }
    }

    interface Connection {
        long[] roundTrips(int index) throws Exception;
    }

    /** Runs {@code connections} connections at once and summarizes every round trip of all of them. */
    static Result measure(String name, int connections, Connection connection) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(connections);
        List<Future<long[]>> futures = new ArrayList<>();
        long start = System.nanoTime();
        for (int c = 0; c < connections; c++) {
            int index = c;
            futures.add(pool.submit((Callable<long[]>) () -> connection.roundTrips(index)));
        }
        List<long[]> all = new ArrayList<>();
        for (Future<long[]> f : futures) {
            all.add(f.get());
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        pool.shutdown();
        long[] sorted = all.stream().flatMapToLong(Arrays::stream).sorted().toArray();
        double rate = sorted.length / seconds;
        return new Result(name, sorted.length, sorted[sorted.length / 2] / 1e3, sorted[(int) (sorted.length * 0.99)] / 1e3,
                rate * 2, rate * 2 * DATAGRAM * 8 / 1e6); // both directions carry a datagram
    }

    /** ROUND_TRIPS lockstep echoes from a socket bound to {@code bind}, sent to {@code to}: the round-trip times. */
    static long[] lockstep(InetSocketAddress bind, InetSocketAddress to) throws IOException {
        try (DatagramSocket app = new DatagramSocket(bind)) {
            app.setSoTimeout(5_000);
            DatagramPacket send = new DatagramPacket(new byte[DATAGRAM], DATAGRAM, to);
            byte[] in = new byte[2048];
            DatagramPacket reply = new DatagramPacket(in, in.length);
            long[] rtt = new long[ROUND_TRIPS];
            for (int i = 0; i < ROUND_TRIPS; i++) {
                long t0 = System.nanoTime();
                app.send(send);
                app.receive(reply);
                rtt[i] = System.nanoTime() - t0;
            }
            return rtt;
        }
    }
}
