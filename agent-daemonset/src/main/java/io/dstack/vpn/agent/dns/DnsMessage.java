package io.dstack.vpn.agent.dns;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The DNS wire format (RFC 1035), only as much as an authoritative A-record responder needs: a query's header and
 * its one question in, a response out. Parsing is bounded by the packet and never follows a compression pointer: a
 * query's question comes right after the 12-byte header, so there is nothing before it a pointer could name, and a
 * question holding one is refused as malformed (which also rules out pointer loops). Sections after the question
 * (an EDNS OPT record, say) are not read. Every malformed input ends in {@link Malformed}, never another exception.
 */
final class DnsMessage {
    static final int HEADER_LENGTH = 12;
    /** A name on the wire: at most 255 bytes, the length bytes and the root label included (RFC 1035 §3.1). */
    static final int MAX_NAME_LENGTH = 255;
    /** Every response fits the classic UDP limit: one question and at most two short records. */
    static final int MAX_RESPONSE = 512;

    static final int TYPE_A = 1;
    static final int TYPE_NS = 2;
    static final int TYPE_SOA = 6;
    static final int TYPE_AAAA = 28;
    static final int TYPE_IXFR = 251;
    static final int TYPE_AXFR = 252;
    static final int TYPE_ANY = 255;
    static final int CLASS_IN = 1;

    static final int NOERROR = 0;
    static final int FORMERR = 1;
    static final int SERVFAIL = 2;
    static final int NXDOMAIN = 3;
    static final int NOTIMP = 4;
    static final int REFUSED = 5;
    static final List<String> RCODE_NAMES = List.of("NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED");

    private static final int QR = 0x8000;
    private static final int OPCODE_MASK = 0x7800;
    private static final int AA = 0x0400;
    private static final int RD = 0x0100;

    /**
     * One parsed query.
     *
     * @param labels   the question's name, each label lower-cased (ASCII only: DNS compares names that way), root last
     *                 label omitted; empty for the root
     * @param question the question as it arrived (name, type, class), echoed in the response with its case
     */
    record Query(int id, int flags, List<String> labels, int type, int qclass, byte[] question) {
    }

    /**
     * A packet that is not a query we can answer: {@code rcode} is the error to send back with the query's id and
     * flags (and no question), or -1 when nothing should be sent at all.
     */
    static final class Malformed extends Exception {
        final int id;
        final int flags;
        final int rcode;

        Malformed(int id, int flags, int rcode, String message) {
            super(message, null, false, false);
            this.id = id;
            this.flags = flags;
            this.rcode = rcode;
        }

        boolean drop() {
            return rcode < 0;
        }
    }

    /** An answer to put after the question: an A record for the question's name, or the zone's SOA. */
    sealed interface Rr permits ARecord, SoaRecord {
    }

    /** {@code <question name> A address}. */
    record ARecord(byte[] address, int ttl) implements Rr {
    }

    /**
     * The zone's SOA, owned by the zone's apex, which is the last {@code apexLabels} labels of the question's name
     * (the responder only speaks for names inside its zone), so it is written as pointers into the question.
     */
    record SoaRecord(int apexLabels, long serial, int ttl, int minimum) implements Rr {
    }

    /** Parses a query; throws {@link Malformed} with the error to answer (or to drop). */
    static Query parse(byte[] packet, int length) throws Malformed {
        if (length < HEADER_LENGTH) {
            throw new Malformed(0, 0, -1, "shorter than a DNS header (" + length + " bytes)");
        }
        int id = u16(packet, 0);
        int flags = u16(packet, 2);
        if ((flags & QR) != 0) {
            // Never answer a response: two responders could otherwise bounce packets between them forever.
            throw new Malformed(id, flags, -1, "a response, not a query");
        }
        if ((flags & OPCODE_MASK) != 0) {
            throw new Malformed(id, flags, NOTIMP, "opcode " + ((flags & OPCODE_MASK) >> 11) + " is not QUERY");
        }
        int qdcount = u16(packet, 4);
        if (qdcount != 1) {
            throw new Malformed(id, flags, FORMERR, qdcount + " questions (a query has exactly one)");
        }
        List<String> labels = new ArrayList<>();
        int pos = HEADER_LENGTH;
        int nameLength = 0;
        while (true) {
            if (pos >= length) {
                throw new Malformed(id, flags, FORMERR, "the name runs past the end of the packet");
            }
            int len = packet[pos] & 0xff;
            if ((len & 0xc0) != 0) {
                // 0xc0: a compression pointer; 0x40 and 0x80: label types RFC 6891 retired. None belongs in a question.
                throw new Malformed(id, flags, FORMERR, "label byte 0x" + Integer.toHexString(len) + " (a pointer or an unknown label type)");
            }
            nameLength += 1 + len;
            if (nameLength > MAX_NAME_LENGTH) {
                throw new Malformed(id, flags, FORMERR, "the name is longer than " + MAX_NAME_LENGTH + " bytes");
            }
            if (len == 0) {
                pos++;
                break;
            }
            if (pos + 1 + len > length) {
                throw new Malformed(id, flags, FORMERR, "a label runs past the end of the packet");
            }
            // One char per byte; only ASCII letters are folded, as DNS does (RFC 4343).
            labels.add(asciiLowerCase(packet, pos + 1, len));
            pos += 1 + len;
        }
        if (pos + 4 > length) {
            throw new Malformed(id, flags, FORMERR, "the question has no type and class");
        }
        int type = u16(packet, pos);
        int qclass = u16(packet, pos + 2);
        byte[] question = Arrays.copyOfRange(packet, HEADER_LENGTH, pos + 4);
        return new Query(id, flags, List.copyOf(labels), type, qclass, question);
    }

    /** The error response to a malformed query: its id, opcode and RD bit, no question (RFC 1035 leaves it out). */
    static byte[] error(Malformed m) {
        ByteBuffer out = ByteBuffer.allocate(HEADER_LENGTH);
        header(out, m.id, m.flags, false, m.rcode, 0, 0, 0);
        return out.array();
    }

    /**
     * The response to {@code q}: the question echoed, then {@code answers}, then {@code authority}.
     *
     * @param authoritative the AA bit: set for every name inside the zone
     */
    static byte[] response(Query q, int rcode, boolean authoritative, List<Rr> answers, List<Rr> authority) {
        ByteBuffer out = ByteBuffer.allocate(MAX_RESPONSE);
        header(out, q.id(), q.flags(), authoritative, rcode, 1, answers.size(), authority.size());
        out.put(q.question());
        for (Rr rr : answers) {
            record(out, q, rr);
        }
        for (Rr rr : authority) {
            record(out, q, rr);
        }
        return Arrays.copyOf(out.array(), out.position());
    }

    private static void header(ByteBuffer out, int id, int queryFlags, boolean authoritative, int rcode, int qd, int an, int ns) {
        // QR, the query's opcode and RD; AA when authoritative; RA never (no recursion here); TC never (all fits).
        int flags = QR | (queryFlags & (OPCODE_MASK | RD)) | (authoritative ? AA : 0) | (rcode & 0xf);
        out.putShort((short) id).putShort((short) flags).putShort((short) qd).putShort((short) an).putShort((short) ns).putShort((short) 0);
    }

    private static void record(ByteBuffer out, Query q, Rr rr) {
        switch (rr) {
            case ARecord a -> {
                pointer(out, HEADER_LENGTH); // the question's name
                out.putShort((short) TYPE_A).putShort((short) CLASS_IN).putInt(a.ttl()).putShort((short) 4).put(a.address());
            }
            case SoaRecord soa -> {
                int apex = apexOffset(q, soa.apexLabels());
                pointer(out, apex);
                out.putShort((short) TYPE_SOA).putShort((short) CLASS_IN).putInt(soa.ttl());
                int lengthAt = out.position();
                out.putShort((short) 0);
                // MNAME ns.<apex>, RNAME hostmaster.<apex>: names inside the zone, the usual placeholders.
                label(out, "ns");
                pointer(out, apex);
                label(out, "hostmaster");
                pointer(out, apex);
                out.putInt((int) soa.serial()).putInt(3600).putInt(600).putInt(86400).putInt(soa.minimum());
                out.putShort(lengthAt, (short) (out.position() - lengthAt - 2));
            }
        }
    }

    /** Where in the response (the question starts at 12) the last {@code apexLabels} labels of the name begin. */
    private static int apexOffset(Query q, int apexLabels) {
        int offset = HEADER_LENGTH;
        for (int i = 0; i < q.labels().size() - apexLabels; i++) {
            offset += 1 + q.labels().get(i).length();
        }
        return offset;
    }

    private static void pointer(ByteBuffer out, int offset) {
        out.putShort((short) (0xc000 | offset));
    }

    private static void label(ByteBuffer out, String label) {
        out.put((byte) label.length()).put(label.getBytes(StandardCharsets.US_ASCII));
    }

    private static String asciiLowerCase(byte[] b, int from, int length) {
        char[] chars = new char[length];
        for (int i = 0; i < length; i++) {
            int c = b[from + i] & 0xff;
            chars[i] = (char) (c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
        }
        return new String(chars);
    }

    static int u16(byte[] b, int at) {
        return (b[at] & 0xff) << 8 | (b[at + 1] & 0xff);
    }

    private DnsMessage() {
    }
}
