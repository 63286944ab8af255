package io.dstack.vpn.agent.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import javax.naming.NameNotFoundException;
import javax.naming.NamingException;
import javax.naming.directory.Attribute;
import javax.naming.directory.InitialDirContext;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.dstack.vpn.api.peerset.StoredPeerSet;

/**
 * The listeners on loopback, asked by the JDK's own DNS client (JNDI's DNS provider, a resolver written independently
 * of ours) over UDP, and by raw TCP and UDP clients with hostile input.
 */
class DnsServerTest {
    final AtomicReference<StoredPeerSet> latest = new AtomicReference<>(DnsResponderTest.stored(DnsResponderTest.set(1, "10.66.0.0/24",
            DnsZoneTest.peer("node-a", "10.66.0.1"), DnsZoneTest.peer("node-b", "10.66.0.2"))));
    final DnsMetrics metrics = new DnsMetrics();
    DnsServer server;

    @BeforeEach
    void start() throws IOException {
        server = DnsServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                new DnsResponder(DnsZoneTest.ORIGIN, 5, latest::get, SourceFilter.parse(SourceFilter.DEFAULT), metrics), metrics);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    /** The A record of {@code name} as the JDK's DNS client reads it from {@code port}. */
    static String jndiLookup(int port, String name) throws NamingException {
        Hashtable<String, String> env = new Hashtable<>();
        env.put("java.naming.factory.initial", "com.sun.jndi.dns.DnsContextFactory");
        env.put("java.naming.provider.url", "dns://127.0.0.1:" + port);
        env.put("com.sun.jndi.dns.timeout.initial", "1000");
        env.put("com.sun.jndi.dns.timeout.retries", "2");
        InitialDirContext ctx = new InitialDirContext(env);
        try {
            Attribute a = ctx.getAttributes(name, new String[] {"A"}).get("A");
            return a == null ? null : (String) a.get();
        } finally {
            ctx.close();
        }
    }

    @Test
    void theJdkResolverReadsTheNamesOverUdp() throws Exception {
        assertThat(jndiLookup(server.port(), "node-a.mesh.vpn.internal.")).isEqualTo("10.66.0.1");
        assertThat(jndiLookup(server.port(), "Node-B.Mesh.VPN.Internal.")).isEqualTo("10.66.0.2");
        assertThatThrownBy(() -> jndiLookup(server.port(), "ghost.mesh.vpn.internal.")).isInstanceOf(NameNotFoundException.class);
        latest.set(DnsResponderTest.stored(DnsResponderTest.set(2, "10.66.0.0/24", DnsZoneTest.peer("node-a", "10.66.0.1"))));
        assertThatThrownBy(() -> jndiLookup(server.port(), "node-b.mesh.vpn.internal.")).as("revoked").isInstanceOf(NameNotFoundException.class);
        assertThatThrownBy(() -> jndiLookup(server.port(), "example.com.")).as("REFUSED: not a resolver")
                .isInstanceOf(NamingException.class).isNotInstanceOf(NameNotFoundException.class);
        assertThat(metrics.prometheus()).contains("dstack_vpn_agent_dns_queries_total{rcode=\"NXDOMAIN\"} 2");
    }

    static byte[] tcpAsk(DataInputStream in, DataOutputStream out, byte[] query) throws IOException {
        out.writeShort(query.length);
        out.write(query);
        out.flush();
        byte[] r = new byte[in.readUnsignedShort()];
        in.readFully(r);
        return r;
    }

    @Test
    void tcpAnswersSeveralQueriesOnOneConnection() throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            DataInputStream in = new DataInputStream(s.getInputStream());
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            assertThat(DnsWire.decode(tcpAsk(in, out, DnsWire.query("node-a.mesh.vpn.internal", DnsMessage.TYPE_A))).answers())
                    .extracting(DnsWire.Rr::data).containsExactly("10.66.0.1");
            DnsWire.Response nx = DnsWire.decode(tcpAsk(in, out, DnsWire.query(9, "ghost.mesh.vpn.internal", DnsMessage.TYPE_A, true)));
            assertThat(nx.id()).isEqualTo(9);
            assertThat(nx.rcode()).isEqualTo(DnsMessage.NXDOMAIN);
            byte[] badQuery = DnsWire.query("node-a.mesh.vpn.internal", DnsMessage.TYPE_A);
            badQuery[12] = (byte) 0xc0; // a pointer in the question
            assertThat(DnsWire.decode(tcpAsk(in, out, badQuery)).rcode()).isEqualTo(DnsMessage.FORMERR);
        }
    }

    @Test
    void anOversizedTcpMessageClosesTheConnection() throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            s.setSoTimeout(5000);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeShort(DnsServer.MAX_TCP_MESSAGE + 1);
            out.flush();
            assertThat(s.getInputStream().read()).as("closed without a reply").isEqualTo(-1);
        }
        assertThat(metrics.droppedCount(DnsMetrics.Dropped.MALFORMED)).isEqualTo(1);
    }

    @Test
    void tcpConnectionsBeyondTheLimitAreClosedAndTheRestStillServed() throws Exception {
        List<Socket> held = new ArrayList<>();
        try {
            for (int i = 0; i < DnsServer.MAX_TCP_CONNECTIONS; i++) {
                Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port());
                s.getOutputStream().write(0); // half a length prefix: the connection waits for more
                held.add(s);
            }
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                try (Socket extra = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
                    extra.setSoTimeout(5000);
                    assertThat(extra.getInputStream().read()).isEqualTo(-1);
                }
            });
            assertThat(metrics.droppedCount(DnsMetrics.Dropped.BUSY)).isPositive();
            assertThat(jndiLookup(server.port(), "node-a.mesh.vpn.internal.")).as("UDP is not held up").isEqualTo("10.66.0.1");
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
        // The held connections are gone: TCP serves again.
        await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() -> {
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
                s.setSoTimeout(5000);
                assertThat(DnsWire.decode(tcpAsk(new DataInputStream(s.getInputStream()), new DataOutputStream(s.getOutputStream()),
                        DnsWire.query("node-b.mesh.vpn.internal", DnsMessage.TYPE_A))).rcode()).isEqualTo(DnsMessage.NOERROR);
            }
        });
    }

    @Test
    void hostileDatagramsDoNotStopTheUdpLoop() throws Exception {
        try (DatagramSocket client = new DatagramSocket()) {
            client.setSoTimeout(2000);
            InetSocketAddress to = new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port());
            java.util.Random random = new java.util.Random(53);
            for (int i = 0; i < 500; i++) {
                byte[] junk = new byte[random.nextInt(600)];
                random.nextBytes(junk);
                client.send(new DatagramPacket(junk, junk.length, to));
            }
            byte[] big = new byte[9000]; // larger than the receive buffer: cut, then parsed (and refused) like any other
            client.send(new DatagramPacket(big, big.length, to));
            // Then a real query still gets its answer. The burst may overflow the socket's receive buffer, and UDP
            // drops what does not fit (a CI run lost the query that way): ask again on each silent second, a few times.
            byte[] q = DnsWire.query(77, "node-a.mesh.vpn.internal", DnsMessage.TYPE_A, false);
            client.setSoTimeout(1000);
            byte[] buf = new byte[1500];
            DnsWire.Response answer = null;
            for (int attempt = 0; attempt < 10 && answer == null; attempt++) {
                client.send(new DatagramPacket(q, q.length, to));
                try {
                    while (answer == null) { // skip the refusals of the junk still coming back
                        DatagramPacket p = new DatagramPacket(buf, buf.length);
                        client.receive(p);
                        DnsWire.Response r = DnsWire.decode(java.util.Arrays.copyOf(p.getData(), p.getLength()));
                        if (r.id() == 77 && r.qdcount() == 1) {
                            answer = r;
                        }
                    }
                } catch (java.net.SocketTimeoutException e) {
                    // silent for a second: send it again
                }
            }
            assertThat(answer).as("the UDP loop still answers after the hostile burst").isNotNull();
            assertThat(answer.answers()).extracting(DnsWire.Rr::data).containsExactly("10.66.0.1");
        }
        assertThat(jndiLookup(server.port(), "node-b.mesh.vpn.internal.")).isEqualTo("10.66.0.2");
    }
}
