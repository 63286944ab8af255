package io.dstack.vpn.proxy;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
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
 * the same echo reached over plain UDP, with 1 and 16 concurrent connections. Not a CI test: run with
 * hack/bench-proxy.sh. Prints markdown table rows.
 */
class ProxyBenchmark {
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    static final int ROUND_TRIPS = Integer.getInteger("bench.roundTrips", 20_000);
    static final int DATAGRAM = 1420; // a full WireGuard packet at the default MTU

    @Test
    void latencyAndThroughput() throws Exception {
        try (UdpEcho echo = new UdpEcho();
                Tcp2Udp server = new Tcp2Udp(List.of(new InetSocketAddress(LOOPBACK, 0)), echo.address(), LOOPBACK,
                        TcpOptions.DEFAULTS, 64, new ProxyMetrics())) {
            for (int connections : new int[] {1, 16}) {
                // Warm up both paths (JIT), then measure them back to back.
                run("warm-up", connections, () -> echo.address(), server);
                Result direct = run("direct UDP", connections, () -> echo.address(), server);
                Result proxied = run("udp2tcp+tcp2udp (ours)", connections, null, server);
                for (Result r : List.of(direct, proxied)) {
                    System.out.printf("| %s | %d | %d | %.1f | %.1f | %.0f | %.2f |%n", r.name, connections, r.samples, r.p50Micros,
                            r.p99Micros, r.datagramsPerSecond, r.mbitPerSecond);
                }
                System.out.printf("| ratio ours/direct | %d | | %.2f× | %.2f× | %.2f× | |%n", connections,
                        proxied.p50Micros / direct.p50Micros, proxied.p99Micros / direct.p99Micros,
                        proxied.datagramsPerSecond / direct.datagramsPerSecond);
            }
        }
    }

    interface Target {
        InetSocketAddress address() throws IOException;
    }

    record Result(String name, int samples, double p50Micros, double p99Micros, double datagramsPerSecond, double mbitPerSecond) {
    }

    /** Each connection: its own client socket doing ROUND_TRIPS lockstep echoes; target null = through our proxy. */
    static Result run(String name, int connections, Target direct, Tcp2Udp server) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(connections);
        List<Future<long[]>> futures = new ArrayList<>();
        long start = System.nanoTime();
        for (int c = 0; c < connections; c++) {
            futures.add(pool.submit((Callable<long[]>) () -> {
                Udp2Tcp tunnel = direct == null
                        ? new Udp2Tcp(new InetSocketAddress(LOOPBACK, 0), server.boundAddresses().get(0), TcpOptions.DEFAULTS, new ProxyMetrics())
                        : null;
                try (DatagramSocket app = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0))) {
                    app.setSoTimeout(5_000);
                    InetSocketAddress to = tunnel != null ? tunnel.localAddress() : direct.address();
                    byte[] out = new byte[DATAGRAM];
                    byte[] in = new byte[2048];
                    DatagramPacket send = new DatagramPacket(out, out.length, to);
                    DatagramPacket reply = new DatagramPacket(in, in.length);
                    long[] rtt = new long[ROUND_TRIPS];
                    for (int i = 0; i < ROUND_TRIPS; i++) {
                        long t0 = System.nanoTime();
                        app.send(send);
                        app.receive(reply);
                        rtt[i] = System.nanoTime() - t0;
                    }
                    return rtt;
                } finally {
                    if (tunnel != null) {
                        tunnel.close();
                    }
                }
            }));
        }
        List<Long> all = new ArrayList<>();
        for (Future<long[]> f : futures) {
            for (long v : f.get()) {
                all.add(v);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        pool.shutdown();
        long[] sorted = all.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(sorted);
        double rate = sorted.length / seconds;
        return new Result(name, sorted.length, sorted[sorted.length / 2] / 1e3, sorted[(int) (sorted.length * 0.99)] / 1e3,
                rate * 2, rate * 2 * DATAGRAM * 8 / 1e6); // both directions carry a datagram
    }
}
