package io.dstack.vpn.proxy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/** The parsed command line; option names follow Mullvad's binaries where they have one. */
record ProxyCommandLine(String mode, List<InetSocketAddress> tcpListen, InetSocketAddress udpForward, InetAddress udpBind,
        InetSocketAddress udpListen, InetSocketAddress tcpForward, TcpOptions tcp, int maxConnections,
        InetSocketAddress metricsListen, int shutdownGraceSeconds) {

    static final String USAGE = """
            usage:
              dstack-vpn-proxy tcp2udp --tcp-listen HOST:PORT [--tcp-listen ...] --udp-forward HOST:PORT [--udp-bind IP]
              dstack-vpn-proxy udp2tcp --udp-listen HOST:PORT --tcp-forward HOST:PORT
              dstack-vpn-proxy node    --tcp-listen HOST:PORT --udp-forward HOST:PORT   (tunnels driven on stdin by the agent)
            options for all modes:
              --nodelay | --no-nodelay       TCP_NODELAY (default on: WireGuard packets should not wait)
              --recv-buffer BYTES            SO_RCVBUF of TCP sockets (default: the system's)
              --send-buffer BYTES            SO_SNDBUF of TCP sockets (default: the system's)
              --tcp-recv-timeout-secs N      close a TCP connection silent for N seconds between frames (default 0 = never)
              --frame-timeout-secs N         close a TCP connection whose frame (or, accepted, whose first frame)
                                             takes longer than N seconds to arrive (default 10; 0 = never)
              --max-connections N            TCP connections held at once (default: what half the heap carries, and
                                             never more); at the limit a connection with no complete frame yet gives way
              --metrics-listen HOST:PORT     serve /metrics and /healthz (default: off)
              --shutdown-grace-secs N        on SIGTERM, let open connections run this long (default 5)
            """;

    static ProxyCommandLine parse(String[] args) {
        if (args.length == 0 || !List.of("tcp2udp", "udp2tcp", "node").contains(args[0])) {
            throw new IllegalArgumentException("the first argument is the mode: tcp2udp, udp2tcp or node");
        }
        String mode = args[0];
        List<InetSocketAddress> tcpListen = new ArrayList<>();
        InetSocketAddress udpForward = null;
        InetSocketAddress udpListen = null;
        InetSocketAddress tcpForward = null;
        InetSocketAddress metricsListen = null;
        InetAddress udpBind = null;
        boolean nodelay = true;
        int recvBuffer = 0;
        int sendBuffer = 0;
        int recvTimeout = 0;
        int maxConnections = 0; // derived from the heap (ConnectionLimit)
        int frameTimeout = TcpOptions.DEFAULT_FRAME_TIMEOUT_SECONDS;
        int grace = 5;
        for (int i = 1; i < args.length; i++) {
            String option = args[i];
            switch (option) {
                case "--nodelay" -> nodelay = true;
                case "--no-nodelay" -> nodelay = false;
                default -> {
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException(option + " needs a value");
                    }
                    String value = args[++i];
                    switch (option) {
                        case "--tcp-listen" -> tcpListen.add(Addresses.parse(value));
                        case "--udp-forward" -> udpForward = Addresses.parse(value);
                        case "--udp-listen" -> udpListen = Addresses.parse(value);
                        case "--tcp-forward" -> tcpForward = Addresses.parse(value);
                        case "--metrics-listen" -> metricsListen = Addresses.parse(value);
                        case "--udp-bind" -> udpBind = ip(value);
                        case "--recv-buffer" -> recvBuffer = number(option, value, 0, Integer.MAX_VALUE);
                        case "--send-buffer" -> sendBuffer = number(option, value, 0, Integer.MAX_VALUE);
                        case "--tcp-recv-timeout-secs" -> recvTimeout = number(option, value, 0, 86_400);
                        case "--frame-timeout-secs" -> frameTimeout = number(option, value, 0, 3_600);
                        case "--max-connections" -> maxConnections = number(option, value, 1, 1_000_000);
                        case "--shutdown-grace-secs" -> grace = number(option, value, 0, 3_600);
                        default -> throw new IllegalArgumentException("unknown option " + option);
                    }
                }
            }
        }
        if (mode.equals("udp2tcp")) {
            require(udpListen != null && tcpForward != null, "udp2tcp needs --udp-listen and --tcp-forward");
        } else {
            require(!tcpListen.isEmpty() && udpForward != null, mode + " needs --tcp-listen and --udp-forward");
        }
        return new ProxyCommandLine(mode, List.copyOf(tcpListen), udpForward, udpBind, udpListen, tcpForward,
                new TcpOptions(nodelay, recvBuffer, sendBuffer, recvTimeout, frameTimeout), maxConnections, metricsListen, grace);
    }

    private static InetAddress ip(String value) {
        try {
            return InetAddress.getByName(value);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IP address: " + value);
        }
    }

    private static int number(String option, String value, int min, int max) {
        try {
            int n = Integer.parseInt(value);
            if (n >= min && n <= max) {
                return n;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException(option + " takes a number from " + min + " to " + max + ", not '" + value + "'");
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
