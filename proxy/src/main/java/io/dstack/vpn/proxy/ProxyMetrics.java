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
    private final LongAdder evicted = new LongAdder();
    private final Map<String, LongAdder> timedOut = new ConcurrentHashMap<>();
    private volatile long connectionLimit;
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

    /** Closed at the connection limit to make room, before it had completed a frame. */
    void evicted() {
        evicted.increment();
    }

    /** Closed by a read deadline: {@code reason} is {@link FrameDeadline#FRAME} or {@link FrameDeadline#IDLE}. */
    void timedOut(String reason) {
        timedOut.computeIfAbsent(reason, k -> new LongAdder()).increment();
    }

    void connectionLimit(long limit) {
        connectionLimit = limit;
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

    public long timedOutCount(String reason) {
        LongAdder a = timedOut.get(reason);
        return a == null ? 0 : a.sum();
    }

    public long evictedCount() {
        return evicted.sum();
    }

    public long rejectedCount() {
        return rejected.sum();
    }

    public String prometheus() {
        StringBuilder sb = new StringBuilder(1024);
        sb.append("# HELP dstack_vpn_proxy_connections_active TCP connections being forwarded now\n")
                .append("# TYPE dstack_vpn_proxy_connections_active gauge\n")
                .append("dstack_vpn_proxy_connections_active ").append(active.get()).append('\n');
        counter(sb, "dstack_vpn_proxy_connections_total", "TCP connections opened", accepted.sum());
        sb.append("# HELP dstack_vpn_proxy_connections_limit TCP connections held at once, at most (capped by the heap)\n")
                .append("# TYPE dstack_vpn_proxy_connections_limit gauge\n")
                .append("dstack_vpn_proxy_connections_limit ").append(connectionLimit).append('\n');
        counter(sb, "dstack_vpn_proxy_connections_rejected_total",
                "TCP connections refused at the connection limit (every held connection had completed a frame)", rejected.sum());
        counter(sb, "dstack_vpn_proxy_connections_evicted_total",
                "TCP connections closed at the connection limit to make room, before completing a frame", evicted.sum());
        sb.append("# HELP dstack_vpn_proxy_connections_timed_out_total TCP connections closed by a read deadline\n")
                .append("# TYPE dstack_vpn_proxy_connections_timed_out_total counter\n");
        for (String reason : new String[] {FrameDeadline.FRAME, FrameDeadline.IDLE}) {
            sb.append("dstack_vpn_proxy_connections_timed_out_total{reason=\"").append(reason).append("\"} ")
                    .append(timedOutCount(reason)).append('\n');
        }
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
