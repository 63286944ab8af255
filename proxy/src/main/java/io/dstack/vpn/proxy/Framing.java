package io.dstack.vpn.proxy;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Mullvad udp-over-tcp framing: every datagram travels on the TCP stream as a big-endian u16 length
 * followed by that many bytes, in both directions. Nothing else is on the stream (no handshake, no padding).
 */
public final class Framing {
    /** The largest payload a frame can carry (u16). UDP over IPv4 carries at most 65,507 of it. */
    public static final int MAX_PAYLOAD = 0xFFFF;
    public static final int HEADER = 2;

    /**
     * Reads one frame into {@code buf} (at least {@link #MAX_PAYLOAD} long) and returns its length, or -1 at a
     * clean end of stream (between frames). A stream that ends inside a frame is an error: the peer lost data.
     */
    public static int readFrame(InputStream in, byte[] buf) throws IOException {
        int hi = in.read();
        if (hi < 0) {
            return -1;
        }
        int lo = in.read();
        if (lo < 0) {
            throw new EOFException("stream ended inside a frame header");
        }
        int length = (hi << 8) | lo;
        int got = 0;
        while (got < length) { // a frame may arrive in any number of reads
            int n = in.read(buf, got, length - got);
            if (n < 0) {
                throw new EOFException("stream ended inside a frame: " + got + " of " + length + " bytes");
            }
            got += n;
        }
        return length;
    }

    /**
     * Writes one frame with a single write call: {@code frame} holds the payload at offset {@link #HEADER};
     * the header is filled in here. One write per datagram keeps the header and payload in one TCP segment
     * when TCP_NODELAY is on.
     */
    public static void writeFrame(OutputStream out, byte[] frame, int payloadLength) throws IOException {
        if (payloadLength < 0 || payloadLength > MAX_PAYLOAD) {
            throw new IllegalArgumentException("a frame carries 0.." + MAX_PAYLOAD + " bytes, not " + payloadLength);
        }
        frame[0] = (byte) (payloadLength >>> 8);
        frame[1] = (byte) payloadLength;
        out.write(frame, 0, HEADER + payloadLength);
    }

    private Framing() {
    }
}
