package io.dstack.vpn.agent.dns;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The test's own DNS encoder and decoder, written independently of {@link DnsMessage}: queries to send, and
 * responses read back with compression pointers followed (bounded), so the tests check the bytes a resolver sees.
 */
final class DnsWire {

    /** A query for {@code name} (dots between labels, case kept), with RD set, and optionally an EDNS OPT record. */
    static byte[] query(int id, String name, int type, boolean edns) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        u16(out, id);
        u16(out, 0x0100); // RD
        u16(out, 1);
        u16(out, 0);
        u16(out, 0);
        u16(out, edns ? 1 : 0);
        name(out, name);
        u16(out, type);
        u16(out, 1);
        if (edns) {
            out.write(0); // root
            u16(out, 41); // OPT
            u16(out, 1232); // payload size
            out.write(0);
            out.write(0);
            u16(out, 0);
            u16(out, 0);
        }
        return out.toByteArray();
    }

    static byte[] query(String name, int type) {
        return query(0x1234, name, type, false);
    }

    static void name(ByteArrayOutputStream out, String name) {
        if (!name.isEmpty()) {
            for (String label : name.split("\\.")) {
                byte[] b = label.getBytes(StandardCharsets.ISO_8859_1);
                out.write(b.length);
                out.write(b, 0, b.length);
            }
        }
        out.write(0);
    }

    static void u16(ByteArrayOutputStream out, int v) {
        out.write(v >> 8);
        out.write(v);
    }

    /** One resource record as read back; {@code data} is the address for A, the MNAME and RNAME then the five numbers for SOA. */
    record Rr(String name, int type, int rclass, long ttl, String data) {
    }

    record Response(int id, int flags, int rcode, boolean qr, boolean aa, boolean rd, boolean ra, boolean tc, int qdcount,
            String question, int qtype, List<Rr> answers, List<Rr> authority, int additional) {
    }

    static Response decode(byte[] m) {
        int id = u16(m, 0);
        int flags = u16(m, 2);
        int qd = u16(m, 4);
        int an = u16(m, 6);
        int ns = u16(m, 8);
        int ar = u16(m, 10);
        int[] pos = {12};
        String question = null;
        int qtype = -1;
        if (qd == 1) {
            question = readName(m, pos);
            qtype = u16(m, pos[0]);
            pos[0] += 4;
        }
        List<Rr> answers = new ArrayList<>();
        for (int i = 0; i < an; i++) {
            answers.add(readRr(m, pos));
        }
        List<Rr> authority = new ArrayList<>();
        for (int i = 0; i < ns; i++) {
            authority.add(readRr(m, pos));
        }
        if (pos[0] != m.length) {
            throw new AssertionError("trailing bytes after the records: " + (m.length - pos[0]));
        }
        return new Response(id, flags, flags & 0xf, (flags & 0x8000) != 0, (flags & 0x0400) != 0, (flags & 0x0100) != 0,
                (flags & 0x0080) != 0, (flags & 0x0200) != 0, qd, question, qtype, answers, authority, ar);
    }

    private static Rr readRr(byte[] m, int[] pos) {
        String name = readName(m, pos);
        int type = u16(m, pos[0]);
        int rclass = u16(m, pos[0] + 2);
        long ttl = Integer.toUnsignedLong((u16(m, pos[0] + 4) << 16) | u16(m, pos[0] + 6));
        int rdlength = u16(m, pos[0] + 8);
        int start = pos[0] + 10;
        String data;
        if (type == 1) {
            data = (m[start] & 0xff) + "." + (m[start + 1] & 0xff) + "." + (m[start + 2] & 0xff) + "." + (m[start + 3] & 0xff);
        } else if (type == 6) {
            int[] p = {start};
            String mname = readName(m, p);
            String rname = readName(m, p);
            StringBuilder s = new StringBuilder(mname + " " + rname);
            for (int i = 0; i < 5; i++) {
                s.append(' ').append(Integer.toUnsignedLong((u16(m, p[0]) << 16) | u16(m, p[0] + 2)));
                p[0] += 4;
            }
            if (p[0] != start + rdlength) {
                throw new AssertionError("SOA rdlength " + rdlength + " but its data took " + (p[0] - start));
            }
            data = s.toString();
        } else {
            data = "?";
        }
        pos[0] = start + rdlength;
        return new Rr(name, type, rclass, ttl, data);
    }

    /** A name with pointers followed, at most 20 jumps (the tests' own guard against a loop in what we wrote). */
    private static String readName(byte[] m, int[] pos) {
        StringBuilder s = new StringBuilder();
        int p = pos[0];
        boolean jumped = false;
        for (int jumps = 0; jumps < 20; ) {
            int len = m[p] & 0xff;
            if ((len & 0xc0) == 0xc0) {
                if (!jumped) {
                    pos[0] = p + 2;
                }
                jumped = true;
                jumps++;
                p = ((len & 0x3f) << 8) | (m[p + 1] & 0xff);
                continue;
            }
            if (len == 0) {
                if (!jumped) {
                    pos[0] = p + 1;
                }
                return s.toString();
            }
            if (!s.isEmpty()) {
                s.append('.');
            }
            s.append(new String(m, p + 1, len, StandardCharsets.ISO_8859_1));
            p += 1 + len;
        }
        throw new AssertionError("name pointer loop in a response");
    }

    static int u16(byte[] b, int at) {
        return (b[at] & 0xff) << 8 | (b[at + 1] & 0xff);
    }

    private DnsWire() {
    }
}
