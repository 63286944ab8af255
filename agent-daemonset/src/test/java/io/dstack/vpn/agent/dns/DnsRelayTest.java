package io.dstack.vpn.agent.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The relay of simulations, run here with no namespace (an empty prefix): the child process holds the socket, the
 * responder in this JVM answers, and a child that dies is started again.
 */
class DnsRelayTest {

    @Test
    void theChildRelaysQueriesAndComesBackAfterItDies() throws Exception {
        int port;
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        DnsMetrics metrics = new DnsMetrics();
        var set = DnsResponderTest.stored(DnsResponderTest.set(1, "10.66.0.0/24", DnsZoneTest.peer("node-a", "10.66.0.1")));
        DnsResponder responder = new DnsResponder(DnsZoneTest.ORIGIN, 5, () -> set, SourceFilter.parse(SourceFilter.DEFAULT), metrics);
        try (DnsRelay relay = DnsRelay.start(List.of(), new InetSocketAddress(InetAddress.getLoopbackAddress(), port), responder, metrics)) {
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() ->
                    assertThat(DnsServerTest.jndiLookup(port, "node-a.mesh.vpn.internal.")).isEqualTo("10.66.0.1"));
            assertThat(metrics.prometheus()).contains("dstack_vpn_agent_dns_up 1");
            ProcessHandle child = ProcessHandle.current().children().filter(p -> p.info().commandLine().orElse("")
                    .contains(DnsRelayChild.class.getName())).findFirst().orElseThrow();
            child.destroyForcibly();
            await().atMost(Duration.ofSeconds(10)).until(() -> !child.isAlive());
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() ->
                    assertThat(DnsServerTest.jndiLookup(port, "node-a.mesh.vpn.internal.")).isEqualTo("10.66.0.1"));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.current().children()
                .noneMatch(p -> p.info().commandLine().orElse("").contains(DnsRelayChild.class.getName())));
    }
}
