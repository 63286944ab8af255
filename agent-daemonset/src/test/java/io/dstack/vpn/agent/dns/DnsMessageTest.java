package io.dstack.vpn.agent.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The wire format: well-formed queries in, responses out (read back by the test's own decoder), and hostile packets. */
class DnsMessageTest {

    @Test
    void parsesAQuestionFoldingCaseAndIgnoringTheEdnsRecord() throws Exception {
        byte[] q = DnsWire.query(0xbeef, "Node-A.MESH.vpn.internal", DnsMessage.TYPE_A, true);
        DnsMessage.Query parsed = DnsMessage.parse(q, q.length);
        assertThat(parsed.id()).isEqualTo(0xbeef);
        assertThat(parsed.labels()).containsExactly("node-a", "mesh", "vpn", "internal");
        assertThat(parsed.type()).isEqualTo(DnsMessage.TYPE_A);
        assertThat(parsed.qclass()).isEqualTo(DnsMessage.CLASS_IN);
    }

    @Test
    void anAnswerEchoesTheQuestionAsAskedAndPointsBackToIt() throws Exception {
        byte[] q = DnsWire.query(7, "Node-A.Mesh.vpn.internal", DnsMessage.TYPE_A, true);
        DnsMessage.Query parsed = DnsMessage.parse(q, q.length);
        byte[] r = DnsMessage.response(parsed, DnsMessage.NOERROR, true,
                List.of(new DnsMessage.ARecord(new byte[] {10, 66, 0, 2}, 5)), List.of());
        DnsWire.Response d = DnsWire.decode(r);
        assertThat(d.id()).isEqualTo(7);
        assertThat(d.qr()).isTrue();
        assertThat(d.aa()).isTrue();
        assertThat(d.rd()).as("RD is copied").isTrue();
        assertThat(d.ra()).as("no recursion here").isFalse();
        assertThat(d.tc()).isFalse();
        assertThat(d.rcode()).isEqualTo(DnsMessage.NOERROR);
        assertThat(d.question()).as("0x20 case kept for resolvers that check it").isEqualTo("Node-A.Mesh.vpn.internal");
        assertThat(d.additional()).as("no OPT record: EDNS is not spoken").isZero();
        assertThat(d.answers()).containsExactly(new DnsWire.Rr("Node-A.Mesh.vpn.internal", 1, 1, 5, "10.66.0.2"));
    }

    @Test
    void theSoaIsOwnedByTheApexInsideTheQuestion() throws Exception {
        byte[] q = DnsWire.query("ghost.mesh.vpn.internal", DnsMessage.TYPE_A);
        DnsMessage.Query parsed = DnsMessage.parse(q, q.length);
        byte[] r = DnsMessage.response(parsed, DnsMessage.NXDOMAIN, true, List.of(), List.of(new DnsMessage.SoaRecord(3, 4_294_967_295L, 5, 5)));
        DnsWire.Response d = DnsWire.decode(r);
        assertThat(d.rcode()).isEqualTo(DnsMessage.NXDOMAIN);
        assertThat(d.authority()).containsExactly(new DnsWire.Rr("mesh.vpn.internal", 6, 1, 5,
                "ns.mesh.vpn.internal hostmaster.mesh.vpn.internal 4294967295 3600 600 86400 5"));
    }

    @Test
    void theLongestNameStillFitsA512ByteResponse() throws Exception {
        // 255 bytes on the wire: three 63-byte labels, a 61-byte one, and the root.
        String longest = "a".repeat(63) + "." + "b".repeat(63) + "." + "c".repeat(63) + "." + "d".repeat(61);
        byte[] q = DnsWire.query(longest, DnsMessage.TYPE_A);
        DnsMessage.Query parsed = DnsMessage.parse(q, q.length);
        byte[] r = DnsMessage.response(parsed, DnsMessage.NXDOMAIN, true, List.of(new DnsMessage.ARecord(new byte[4], 5)),
                List.of(new DnsMessage.SoaRecord(1, 1, 5, 5)));
        assertThat(r.length).isLessThanOrEqualTo(DnsMessage.MAX_RESPONSE);
        assertThat(DnsWire.decode(r).authority().get(0).name()).isEqualTo("d".repeat(61));
    }

    static byte[] header(int flags, int qdcount) {
        return new byte[] {0x12, 0x34, (byte) (flags >> 8), (byte) flags, 0, (byte) qdcount, 0, 0, 0, 0, 0, 0};
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.write(p, 0, p.length);
        }
        return out.toByteArray();
    }

    static byte[] bytes(int... b) {
        byte[] out = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = (byte) b[i];
        }
        return out;
    }

    static byte[] label(int length) {
        byte[] out = new byte[length + 1];
        out[0] = (byte) length;
        Arrays.fill(out, 1, out.length, (byte) 'x');
        return out;
    }

    /** Hostile packets and the reply each gets: an rcode (with the query's id, no question), or -1: dropped. */
    static List<Arguments> hostile() {
        byte[] typeClass = bytes(0, 1, 0, 1);
        return List.of(
                Arguments.of("empty", new byte[0], -1),
                Arguments.of("shorter than a header", Arrays.copyOf(header(0x0100, 1), 11), -1),
                Arguments.of("a response (QR set)", concat(header(0x8100, 1), bytes(1, 'a', 0), typeClass), -1),
                Arguments.of("opcode STATUS", concat(header(0x1000, 1), bytes(1, 'a', 0), typeClass), DnsMessage.NOTIMP),
                Arguments.of("opcode UPDATE", concat(header(0x2800, 1), bytes(1, 'a', 0), typeClass), DnsMessage.NOTIMP),
                Arguments.of("no question", header(0x0100, 0), DnsMessage.FORMERR),
                Arguments.of("two questions", concat(header(0x0100, 2), bytes(1, 'a', 0), typeClass, bytes(1, 'b', 0), typeClass), DnsMessage.FORMERR),
                Arguments.of("header only, qdcount 1", header(0x0100, 1), DnsMessage.FORMERR),
                Arguments.of("pointer to itself (a loop)", concat(header(0x0100, 1), bytes(0xc0, 12), typeClass), DnsMessage.FORMERR),
                Arguments.of("label then a pointer back to it", concat(header(0x0100, 1), bytes(1, 'a', 0xc0, 12), typeClass), DnsMessage.FORMERR),
                Arguments.of("pointer with 192 bytes after it (no 192-byte label either)",
                        concat(header(0x0100, 1), bytes(0xc0), Arrays.copyOfRange(label(192), 1, 193), bytes(0), typeClass), DnsMessage.FORMERR),
                Arguments.of("pointer into the header", concat(header(0x0100, 1), bytes(0xc0, 0), typeClass), DnsMessage.FORMERR),
                Arguments.of("pointer forward past the end", concat(header(0x0100, 1), bytes(0xff, 0xff), typeClass), DnsMessage.FORMERR),
                Arguments.of("extended label type 0x40", concat(header(0x0100, 1), bytes(0x41, 'a', 0), typeClass), DnsMessage.FORMERR),
                Arguments.of("label type 0x80", concat(header(0x0100, 1), bytes(0x81, 'a', 0), typeClass), DnsMessage.FORMERR),
                Arguments.of("63-byte label cut short", concat(header(0x0100, 1), Arrays.copyOf(label(63), 20)), DnsMessage.FORMERR),
                Arguments.of("name longer than 255 bytes", concat(header(0x0100, 1), label(63), label(63), label(63), label(63), bytes(0), typeClass),
                        DnsMessage.FORMERR),
                Arguments.of("no root label", concat(header(0x0100, 1), bytes(1, 'a')), DnsMessage.FORMERR),
                Arguments.of("no type and class", concat(header(0x0100, 1), bytes(1, 'a', 0)), DnsMessage.FORMERR),
                Arguments.of("half a type", concat(header(0x0100, 1), bytes(1, 'a', 0, 0, 1)), DnsMessage.FORMERR));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostile")
    void hostilePacketsGetAnErrorOrNothing(String what, byte[] packet, int rcode) {
        DnsMessage.Malformed m = catchThrowableOfType(DnsMessage.Malformed.class, () -> DnsMessage.parse(packet, packet.length));
        assertThat(m).as(what).isNotNull();
        assertThat(m.rcode).as(what).isEqualTo(rcode);
        if (rcode >= 0) {
            DnsWire.Response r = DnsWire.decode(DnsMessage.error(m));
            assertThat(r.id()).isEqualTo(0x1234);
            assertThat(r.qr()).isTrue();
            assertThat(r.rcode()).isEqualTo(rcode);
            assertThat(r.qdcount()).isZero();
        }
    }

    @Test
    void theLengthGivenIsTheEndOfThePacketNotTheBuffer() {
        byte[] q = DnsWire.query("node-a.mesh.vpn.internal", DnsMessage.TYPE_A);
        byte[] buffer = Arrays.copyOf(q, 1500); // a receive buffer with zeros after the datagram
        assertThatThrownBy(() -> DnsMessage.parse(buffer, q.length - 1)).isInstanceOf(DnsMessage.Malformed.class);
    }

    @Test
    void randomBytesNeverThrowAnythingButMalformed() {
        Random random = new Random(16);
        byte[] valid = DnsWire.query("node-a.mesh.vpn.internal", DnsMessage.TYPE_A);
        for (int i = 0; i < 200_000; i++) {
            byte[] p;
            if (i % 2 == 0) {
                p = new byte[random.nextInt(300)];
                random.nextBytes(p);
                if (p.length > 5) {
                    p[2] &= 0x07; // mostly queries with opcode 0 and one question, so the name parser gets the bytes
                    p[4] = 0;
                    p[5] = 1;
                }
            } else {
                p = valid.clone(); // a valid query with a few bytes flipped
                for (int k = 0; k < 1 + random.nextInt(4); k++) {
                    p[random.nextInt(p.length)] = (byte) random.nextInt(256);
                }
            }
            try {
                DnsMessage.Query q = DnsMessage.parse(p, p.length);
                assertThat(q.labels().size()).isLessThanOrEqualTo(127);
                byte[] r = DnsMessage.response(q, DnsMessage.NOERROR, true, List.of(new DnsMessage.ARecord(new byte[4], 5)), List.of());
                assertThat(r.length).isLessThanOrEqualTo(DnsMessage.MAX_RESPONSE);
            } catch (DnsMessage.Malformed expected) {
                // the point: nothing else
            }
        }
    }
}
