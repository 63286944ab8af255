package io.dstack.vpn.e2e;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * More than a thousand hostile TCP clients of a tcp2udp proxy on loopback, of four kinds: idle, a frame header
 * only, half a 64 KiB frame then silence, and connect/close churn. A well-behaved tunnel is opened in the middle
 * of the attack and once every hostile connection is open; the proxy must forward to a UDP echo. Every byte stays
 * on loopback.
 */
final class ProxyAttack {
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    static final int PER_KIND = 350; // three kinds: 1,050 held open
    static final int CHURN = 400;

    /** What the caller checks while every hostile connection is still open and the churn goes on. */
    @FunctionalInterface
    interface AtHeight {
        void check(int held, int churned) throws Exception;
    }

    private final int port;

    ProxyAttack(int port) {
        this.port = port;
    }

    /** One attack; returns the round trips of its two tunnels (400 when every datagram came back). */
    int run(AtHeight atHeight) throws Exception {
        List<Socket> hostile = new ArrayList<>();
        AtomicBoolean attacking = new AtomicBoolean(true);
        AtomicInteger churned = new AtomicInteger();
        Thread churn = Thread.ofPlatform().start(() -> {
            while (attacking.get() || churned.get() < CHURN) {
                try (Socket s = new Socket(LOOPBACK, port)) {
                    s.getOutputStream().write(new byte[] {(byte) 0xff});
                } catch (IOException ignored) {
                    // refused or reset under load: churn goes on
                }
                churned.incrementAndGet();
            }
        });
        int roundTrips = 0;
        try {
            byte[] half = new byte[2 + 32_768];
            half[0] = (byte) 0xff;
            half[1] = (byte) 0xff;
            for (int i = 0; i < PER_KIND; i++) {
                hostile.add(open(new byte[0]));                          // idle
                hostile.add(open(new byte[] {(byte) 0xff, (byte) 0xff})); // a header only
                hostile.add(open(half));                                  // half a frame, then silence
                if (i == PER_KIND / 2) {
                    roundTrips += tunnel(200); // opened mid-attack
                }
            }
            roundTrips += tunnel(200); // and once every hostile connection is open
            atHeight.check(hostile.size(), churned.get());
            return roundTrips;
        } finally {
            attacking.set(false);
            churn.join();
            hostile.forEach(ProxyAttack::closeQuietly);
        }
    }

    /** A well-behaved tunnel: its own connection, {@code n} frames sent and echoed back, byte for byte. */
    int tunnel(int n) throws IOException {
        try (Socket s = new Socket(LOOPBACK, port)) {
            s.setSoTimeout(10_000);
            s.setTcpNoDelay(true);
            OutputStream out = s.getOutputStream();
            DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
            int ok = 0;
            for (int i = 0; i < n; i++) {
                byte[] payload = new byte[1 + (i * 37) % 1420];
                Arrays.fill(payload, (byte) i);
                out.write(new byte[] {(byte) (payload.length >> 8), (byte) payload.length});
                out.write(payload);
                int length = in.readUnsignedShort();
                byte[] back = new byte[length];
                in.readFully(back);
                if (Arrays.equals(back, payload)) {
                    ok++;
                }
            }
            return ok;
        }
    }

    Socket open(byte[] first) throws IOException {
        Socket s = new Socket();
        s.setReceiveBufferSize(4096);
        s.connect(new InetSocketAddress(LOOPBACK, port), 5_000);
        if (first.length > 0) {
            s.getOutputStream().write(first);
        }
        return s;
    }

    static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // best effort
        }
    }
}
