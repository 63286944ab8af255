package io.dstack.vpn.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.agent.proxy.NodeProxyProcess;
import io.dstack.vpn.proxy.ProxyMain;
import io.dstack.vpn.testing.MullvadUdpOverTcp;

/**
 * Our proxy beside Mullvad's, side by side in one run, on loopback: ours↔ours, Mullvad↔Mullvad and both mixed
 * pairs (client udp2tcp → server tcp2udp → a UDP echo in this JVM), with 1 and 16 TCP connections. Per run:
 * lockstep round trips of 1,420-byte datagrams (p50/p99), then a flood with a window of datagrams in flight per
 * connection (throughput), with the CPU time and RSS of the proxy processes (client and server side) read from
 * /proc. Contenders run in turn, rotated each round, so machine noise hits them alike; the tables give medians
 * over rounds. Ours runs as the agent runs it (the node proxy's JVM flags; its client side is one process with
 * a tunnel per connection, as on a node); Mullvad's client side is one udp2tcp process per connection (it serves
 * one). Both with TCP_NODELAY. Not a CI test: run hack/bench-proxy.sh. Prints markdown.
 */
class ProxyBenchmark {
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    static final int DATAGRAM = 1420;
    static final int ROUNDS = Integer.getInteger("bench.rounds", 5);
    static final int ROUND_TRIPS = Integer.getInteger("bench.roundTrips", 2000);
    static final long FLOOD_MILLIS = Long.getLong("bench.floodMillis", 3000);
    static final int WINDOW = Integer.getInteger("bench.window", 16);
    static final List<String> OUR_JVM = jvm(System.getProperty("bench.ourJvmFlags", ""));
    /** Optional: a fifth contender, ours with other JVM flags (bench.altJvmFlags), to compare settings in one run. */
    static final String ALT_FLAGS = System.getProperty("bench.altJvmFlags", "");

    record Sample(double p50Micros, double p99Micros, double mbitPerSecond, double cpuSecondsPerGb, long rssKiB, double lossPercent) {
    }

    @Test
    void sideBySide() throws Exception {
        MullvadUdpOverTcp mullvad = MullvadUdpOverTcp.require();
        PrintStream out = System.out;
        out.println("our JVM: " + String.join(" ", OUR_JVM.subList(1, OUR_JVM.size() - 2)));
        try (Echo echo = new Echo()) {
            for (int connections : new int[] {1, 16}) {
                List<Contender> contenders = new ArrayList<>(List.of(
                        new Contender("ours → ours", false, false, connections, echo.port(), mullvad, OUR_JVM),
                        new Contender("Mullvad → Mullvad", true, true, connections, echo.port(), mullvad, OUR_JVM),
                        new Contender("Mullvad udp2tcp → our tcp2udp", true, false, connections, echo.port(), mullvad, OUR_JVM),
                        new Contender("our udp2tcp → Mullvad tcp2udp", false, true, connections, echo.port(), mullvad, OUR_JVM)));
                if (!ALT_FLAGS.isBlank()) {
                    contenders.add(new Contender("ours → ours, " + ALT_FLAGS, false, false, connections, echo.port(), mullvad,
                            jvm(ALT_FLAGS)));
                }
                Map<String, List<Sample>> samples = new LinkedHashMap<>();
                try {
                    for (Contender c : contenders) {
                        c.start();
                        c.flood(1500); // warm-up (JIT), not counted
                        samples.put(c.name, new ArrayList<>());
                    }
                    for (int round = 0; round < ROUNDS; round++) {
                        for (int i = 0; i < contenders.size(); i++) {
                            Contender c = contenders.get((i + round) % contenders.size()); // rotate the order
                            samples.get(c.name).add(c.run());
                        }
                    }
                } finally {
                    contenders.forEach(Contender::close);
                }
                report(out, connections, samples);
            }
        }
    }

    static void report(PrintStream out, int connections, Map<String, List<Sample>> samples) {
        out.printf("%n%d connection(s), %d rounds, medians:%n", connections, ROUNDS);
        out.println("| pair (client → server) | Mbit/s | RTT p50 µs | RTT p99 µs | CPU s/GB | RSS MiB | lost % |");
        out.println("|---|---|---|---|---|---|---|");
        Map<String, Sample> med = new LinkedHashMap<>();
        samples.forEach((name, list) -> {
            Sample m = new Sample(median(list, Sample::p50Micros), median(list, Sample::p99Micros), median(list, Sample::mbitPerSecond),
                    median(list, Sample::cpuSecondsPerGb), (long) median(list, s -> s.rssKiB), median(list, Sample::lossPercent));
            med.put(name, m);
            out.printf("| %s | %.0f | %.0f | %.0f | %.2f | %.1f | %.2f |%n", name, m.mbitPerSecond, m.p50Micros, m.p99Micros,
                    m.cpuSecondsPerGb, m.rssKiB / 1024.0, m.lossPercent);
        });
        Sample ours = med.get("ours → ours");
        Sample theirs = med.get("Mullvad → Mullvad");
        out.printf("ratio ours/Mullvad at %d: throughput %.2f×, p50 %.2f×, p99 %.2f×, CPU/GB %.2f×; per round throughput ratios %s%n",
                connections, ours.mbitPerSecond / theirs.mbitPerSecond, ours.p50Micros / theirs.p50Micros,
                ours.p99Micros / theirs.p99Micros, ours.cpuSecondsPerGb / theirs.cpuSecondsPerGb,
                perRound(samples.get("ours → ours"), samples.get("Mullvad → Mullvad")));
    }

    static String perRound(List<Sample> a, List<Sample> b) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < a.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(String.format("%.2f", a.get(i).mbitPerSecond / b.get(i).mbitPerSecond));
        }
        return sb.append(']').toString();
    }

    interface Field {
        double of(Sample s);
    }

    static double median(List<Sample> list, Field f) {
        double[] v = list.stream().mapToDouble(f::of).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** One pairing: its server process, its client process(es), and the entry UDP port of each connection. */
    static final class Contender {
        final String name;
        final boolean mullvadClient;
        final boolean mullvadServer;
        final int connections;
        final int echoPort;
        final MullvadUdpOverTcp mullvad;
        final List<String> jvm;
        final List<Process> processes = new ArrayList<>();
        final List<InetSocketAddress> entries = new ArrayList<>();
        final List<DatagramSocket> apps = new ArrayList<>();

        Contender(String name, boolean mullvadClient, boolean mullvadServer, int connections, int echoPort, MullvadUdpOverTcp mullvad,
                List<String> jvm) {
            this.jvm = jvm;
            this.name = name;
            this.mullvadClient = mullvadClient;
            this.mullvadServer = mullvadServer;
            this.connections = connections;
            this.echoPort = echoPort;
            this.mullvad = mullvad;
        }

        void start() throws Exception {
            int tcp = freePort();
            String listen = "127.0.0.1:" + tcp;
            String echo = "127.0.0.1:" + echoPort;
            processes.add(launch(mullvadServer ? mullvad.tcp2udp(listen, echo, "--nodelay", "--udp-bind", "127.0.0.1")
                    : ours(jvm, "tcp2udp", "--tcp-listen", listen, "--udp-forward", echo, "--udp-bind", "127.0.0.1")));
            awaitTcp(tcp);
            if (mullvadClient) {
                for (int c = 0; c < connections; c++) {
                    int udp = freeUdpPort();
                    processes.add(launch(mullvad.udp2tcp("127.0.0.1:" + udp, listen, "--nodelay")));
                    entries.add(new InetSocketAddress(LOOPBACK, udp));
                }
                Thread.sleep(300); // bound before the first datagram
            } else {
                // Our client side as on a node: one process, a tunnel per connection, opened on its stdin.
                Process node = launch(ours(jvm, "node", "--tcp-listen", "127.0.0.1:" + freePort(), "--udp-forward", "127.0.0.1:9"));
                processes.add(node);
                BufferedReader replies = new BufferedReader(new InputStreamReader(node.getInputStream(), StandardCharsets.UTF_8));
                for (int c = 0; c < connections; c++) {
                    node.getOutputStream().write(("tunnel t" + c + " " + listen + "\n").getBytes(StandardCharsets.UTF_8));
                    node.getOutputStream().flush();
                    String reply = replies.readLine();
                    if (reply == null || !reply.startsWith("tunnel t" + c + " ")) {
                        throw new IllegalStateException("node proxy replied " + reply);
                    }
                    entries.add(new InetSocketAddress(LOOPBACK, Integer.parseInt(reply.substring(reply.lastIndexOf(' ') + 1))));
                }
            }
            for (int c = 0; c < connections; c++) {
                DatagramSocket app = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0));
                app.setReceiveBufferSize(1 << 20);
                app.setSendBufferSize(1 << 20);
                apps.add(app);
            }
        }

        Sample run() throws Exception {
            long[] rtt = lockstep();
            long cpu0 = cpuTicks();
            long t0 = System.nanoTime();
            long[] flood = flood(FLOOD_MILLIS);
            double seconds = (System.nanoTime() - t0) / 1e9;
            double cpuSeconds = (cpuTicks() - cpu0) / 100.0; // USER_HZ
            long rss = rssKiB();
            long bytes = flood[1] * 2 * DATAGRAM; // each echoed datagram crossed the tunnel twice
            Arrays.sort(rtt);
            return new Sample(rtt[rtt.length / 2] / 1e3, rtt[(int) (rtt.length * 0.99)] / 1e3, bytes * 8 / seconds / 1e6,
                    cpuSeconds / (bytes / 1e9), rss, flood[0] == 0 ? 0 : 100.0 * (flood[0] - flood[1]) / flood[0]);
        }

        /** ROUND_TRIPS lockstep echoes on every connection at once; every round trip's time. */
        long[] lockstep() throws Exception {
            long[][] per = new long[connections][];
            List<Thread> threads = new ArrayList<>();
            for (int c = 0; c < connections; c++) {
                int index = c;
                threads.add(Thread.ofPlatform().start(() -> per[index] = lockstep(apps.get(index), entries.get(index))));
            }
            for (Thread t : threads) {
                t.join();
            }
            return Arrays.stream(per).flatMapToLong(Arrays::stream).toArray();
        }

        static long[] lockstep(DatagramSocket app, InetSocketAddress to) {
            long[] rtt = new long[ROUND_TRIPS];
            byte[] in = new byte[2048];
            DatagramPacket send = new DatagramPacket(new byte[DATAGRAM], DATAGRAM, to);
            DatagramPacket reply = new DatagramPacket(in, in.length);
            int n = 0;
            try {
                app.setSoTimeout(1000);
                while (n < ROUND_TRIPS) {
                    long t0 = System.nanoTime();
                    app.send(send);
                    try {
                        reply.setData(in);
                        app.receive(reply);
                        rtt[n++] = System.nanoTime() - t0;
                    } catch (SocketTimeoutException lost) {
                        // a datagram lost (a window flood's leftovers, say): send again
                    }
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            return rtt;
        }

        /**
         * Every connection keeps up to WINDOW datagrams in flight for {@code millis}; returns {sent, echoed}. A lost
         * datagram is written off after 200 ms without an echo, so loss does not stall the window.
         */
        long[] flood(long millis) throws Exception {
            LongAdder sent = new LongAdder();
            LongAdder echoed = new LongAdder();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> threads = new ArrayList<>();
            for (int c = 0; c < connections; c++) {
                DatagramSocket app = apps.get(c);
                InetSocketAddress to = entries.get(c);
                java.util.concurrent.Semaphore window = new java.util.concurrent.Semaphore(WINDOW);
                threads.add(Thread.ofPlatform().start(() -> {
                    DatagramPacket p = new DatagramPacket(new byte[DATAGRAM], DATAGRAM, to);
                    try {
                        while (!stop.get()) {
                            if (!window.tryAcquire(200, java.util.concurrent.TimeUnit.MILLISECONDS)) {
                                window.drainPermits();
                                window.release(WINDOW); // the window's datagrams were lost: start over
                                continue;
                            }
                            app.send(p);
                            sent.increment();
                        }
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }));
                threads.add(Thread.ofPlatform().start(() -> {
                    byte[] in = new byte[2048];
                    DatagramPacket r = new DatagramPacket(in, in.length);
                    try {
                        app.setSoTimeout(100);
                        while (!stop.get()) {
                            try {
                                r.setData(in);
                                app.receive(r);
                                echoed.increment();
                                window.release();
                            } catch (SocketTimeoutException idle) {
                                // check stop
                            }
                        }
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                }));
            }
            Thread.sleep(millis);
            long s = sent.sum();
            long e = echoed.sum();
            stop.set(true);
            for (Thread t : threads) {
                t.join();
            }
            drain();
            return new long[] {s, e};
        }

        /** Reads what is still arriving, so the next lockstep starts clean. */
        void drain() throws IOException {
            byte[] in = new byte[2048];
            for (DatagramSocket app : apps) {
                app.setSoTimeout(50);
                try {
                    while (true) {
                        app.receive(new DatagramPacket(in, in.length));
                    }
                } catch (SocketTimeoutException done) {
                    // drained
                }
            }
        }

        long cpuTicks() throws IOException {
            long sum = 0;
            for (Process p : processes) {
                String stat = Files.readString(Path.of("/proc", Long.toString(p.pid()), "stat"));
                String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                sum += Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14 and 15)
            }
            return sum;
        }

        long rssKiB() throws IOException {
            long sum = 0;
            for (Process p : processes) {
                for (String line : Files.readAllLines(Path.of("/proc", Long.toString(p.pid()), "status"))) {
                    if (line.startsWith("VmRSS:")) {
                        sum += Long.parseLong(line.replaceAll("\\D", ""));
                    }
                }
            }
            return sum;
        }

        void close() {
            apps.forEach(DatagramSocket::close);
            for (Process p : processes) {
                p.destroyForcibly();
                try {
                    p.waitFor();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /** The UDP echo standing in for WireGuard: two platform threads on one socket, so it is not the bottleneck. */
    static final class Echo implements AutoCloseable {
        final DatagramSocket socket;

        Echo() throws IOException {
            socket = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0));
            socket.setReceiveBufferSize(4 << 20);
            socket.setSendBufferSize(4 << 20);
            for (int i = 0; i < 2; i++) {
                Thread.ofPlatform().daemon().start(() -> {
                    byte[] buf = new byte[65_535];
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    while (!socket.isClosed()) {
                        try {
                            p.setData(buf);
                            socket.receive(p);
                            socket.send(p);
                        } catch (IOException e) {
                            return;
                        }
                    }
                });
            }
        }

        int port() {
            return socket.getLocalPort();
        }

        @Override
        public void close() {
            socket.close();
        }
    }

    /** The node proxy's JVM flags, unless {@code flags} replace them (e.g. to try other GC or JIT settings). */
    static List<String> jvm(String flags) {
        List<String> node = NodeProxyProcess.javaCommand();
        if (flags.isBlank()) {
            return node;
        }
        List<String> cmd = new ArrayList<>(List.of(node.get(0)));
        cmd.addAll(List.of(flags.trim().split("\\s+")));
        cmd.addAll(node.subList(node.size() - 2, node.size())); // -cp <jar>
        return cmd;
    }

    static List<String> ours(List<String> jvm, String... args) {
        List<String> cmd = new ArrayList<>(jvm);
        cmd.add(ProxyMain.class.getName());
        cmd.addAll(List.of(args));
        return cmd;
    }

    static Process launch(List<String> command) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD);
        if (!command.contains("node")) {
            pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        }
        return pb.start();
    }

    static void awaitTcp(int port) throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            try (Socket ignored = new Socket(LOOPBACK, port)) {
                return;
            } catch (IOException e) {
                Thread.sleep(25);
            }
        }
        throw new IllegalStateException("nothing listens on " + port);
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, LOOPBACK)) {
            return s.getLocalPort();
        }
    }

    static int freeUdpPort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0))) {
            return s.getLocalPort();
        }
    }
}
