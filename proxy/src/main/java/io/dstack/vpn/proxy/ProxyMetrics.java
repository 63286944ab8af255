package io.dstack.vpn.proxy;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** Counters for /metrics, in the Prometheus text format (no library: a handful of counters). */
public final class ProxyMetrics {
    public static final String TCP_TO_UDP = "tcp_to_udp";
    public static final String UDP_TO_TCP = "udp_to_tcp";

    private final AtomicLong active = new AtomicLong();
    private final LongAdder accepted = new LongAdder();
    private final LongAdder rejected = new LongAdder();
    private final LongAdder bytesTcpToUdp = new LongAdder();
    private final LongAdder bytesUdpToTcp = new LongAdder();
    private final LongAdder datagramsTcpToUdp = new LongAdder();
    private final LongAdder datagramsUdpToTcp = new LongAdder();
    private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();

    void opened() {
        accepted.increment();
        active.incrementAndGet();
    }

    void closed() {
        active.decrementAndGet();
    }

    void rejected() {
        rejected.increment();
    }

    void tcpToUdp(int bytes) {
        datagramsTcpToUdp.increment();
        bytesTcpToUdp.add(bytes);
    }

    void udpToTcp(int bytes) {
        datagramsUdpToTcp.increment();
        bytesUdpToTcp.add(bytes);
    }

    void error(String kind) {
        errors.computeIfAbsent(kind, k -> new LongAdder()).increment();
    }

    public long activeConnections() {
        return active.get();
    }

    public long datagrams(String direction) {
        return (TCP_TO_UDP.equals(direction) ? datagramsTcpToUdp : datagramsUdpToTcp).sum();
    }

    public long errors(String kind) {
        LongAdder a = errors.get(kind);
        return a == null ? 0 : a.sum();
    }

    public String prometheus() {
        StringBuilder sb = new StringBuilder(1024);
        sb.append("# HELP dstack_vpn_proxy_connections_active TCP connections being forwarded now\n")
                .append("# TYPE dstack_vpn_proxy_connections_active gauge\n")
                .append("dstack_vpn_proxy_connections_active ").append(active.get()).append('\n');
        counter(sb, "dstack_vpn_proxy_connections_total", "TCP connections opened", accepted.sum());
        counter(sb, "dstack_vpn_proxy_connections_rejected_total", "TCP connections refused at the connection limit",
                rejected.sum());
        sb.append("# HELP dstack_vpn_proxy_bytes_total Datagram payload bytes forwarded\n# TYPE dstack_vpn_proxy_bytes_total counter\n")
                .append("dstack_vpn_proxy_bytes_total{direction=\"tcp_to_udp\"} ").append(bytesTcpToUdp.sum()).append('\n')
                .append("dstack_vpn_proxy_bytes_total{direction=\"udp_to_tcp\"} ").append(bytesUdpToTcp.sum()).append('\n');
        sb.append("# HELP dstack_vpn_proxy_datagrams_total Datagrams forwarded\n# TYPE dstack_vpn_proxy_datagrams_total counter\n")
                .append("dstack_vpn_proxy_datagrams_total{direction=\"tcp_to_udp\"} ").append(datagramsTcpToUdp.sum()).append('\n')
                .append("dstack_vpn_proxy_datagrams_total{direction=\"udp_to_tcp\"} ").append(datagramsUdpToTcp.sum()).append('\n');
        sb.append("# HELP dstack_vpn_proxy_errors_total Failures by kind (a connection or datagram was dropped)\n")
                .append("# TYPE dstack_vpn_proxy_errors_total counter\n");
        errors.forEach((kind, n) -> sb.append("dstack_vpn_proxy_errors_total{kind=\"").append(kind).append("\"} ")
                .append(n.sum()).append('\n'));
        return sb.toString();
    }

    private static void counter(StringBuilder sb, String name, String help, long value) {
        sb.append("# HELP ").append(name).append(' ').append(help).append('\n')
                .append("# TYPE ").append(name).append(" counter\n")
                .append(name).append(' ').append(value).append('\n');
    }
}
