package io.dstack.vpn.proxy;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** {@code dstack-vpn-proxy tcp2udp|udp2tcp|node ...}: see {@link ProxyCommandLine#USAGE}. Exit 2 on a bad command line. */
public final class ProxyMain {

    public static void main(String[] args) throws Exception {
        ProxyCommandLine cli;
        try {
            cli = ProxyCommandLine.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("dstack-vpn-proxy: " + e.getMessage());
            System.err.print(ProxyCommandLine.USAGE);
            System.exit(2);
            return;
        }
        ProxyMetrics metrics = new ProxyMetrics();
        ProxyHttp http = cli.metricsListen() == null ? null : new ProxyHttp(cli.metricsListen(), metrics);
        CountDownLatch stopped = new CountDownLatch(1);
        switch (cli.mode()) {
            case "udp2tcp" -> {
                Udp2Tcp client = new Udp2Tcp(cli.udpListen(), cli.tcpForward(), cli.tcp(), metrics);
                System.err.println("udp2tcp: " + client.localAddress() + " -> tcp " + cli.tcpForward());
                onShutdown(() -> {
                    client.close();
                    stopped.countDown();
                });
            }
            case "tcp2udp" -> {
                Tcp2Udp server = new Tcp2Udp(cli.tcpListen(), cli.udpForward(), cli.udpBind(), cli.tcp(), cli.maxConnections(), metrics);
                System.err.println("tcp2udp: " + server.boundAddresses() + " -> udp " + cli.udpForward() + " (at most "
                        + server.connectionLimit() + " connections)");
                onShutdown(() -> {
                    server.shutdown(cli.shutdownGraceSeconds(), TimeUnit.SECONDS);
                    stopped.countDown();
                });
            }
            default -> {
                Tcp2Udp server = new Tcp2Udp(cli.tcpListen(), cli.udpForward(), cli.udpBind(), cli.tcp(), cli.maxConnections(), metrics);
                NodeProxy node = new NodeProxy(InetAddress.getLoopbackAddress(), cli.tcp(), metrics);
                System.err.println("node proxy: " + server.boundAddresses() + " -> udp " + cli.udpForward() + " (at most "
                        + server.connectionLimit() + " connections); tunnels on stdin");
                node.serve(new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)), System.out);
                // stdin ended: the agent that drives us is gone.
                node.close();
                server.close();
                stopped.countDown();
            }
        }
        stopped.await();
        if (http != null) {
            http.close();
        }
    }

    private static void onShutdown(Runnable action) {
        Runtime.getRuntime().addShutdownHook(new Thread(action, "proxy-shutdown"));
    }

    private ProxyMain() {
    }
}
