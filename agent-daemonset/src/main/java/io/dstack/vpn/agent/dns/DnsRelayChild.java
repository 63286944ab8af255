package io.dstack.vpn.agent.dns;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;

/**
 * The UDP socket of a simulated node's DNS, as a child process inside that node's network namespace (started by
 * {@link DnsRelay} through {@code ip netns exec}): the agent of a simulation runs on the host, where it cannot open a
 * socket in the node's namespace. It only moves datagrams: each one received goes to standard output with its
 * source, each one read from standard input is sent to its destination; the agent's {@link DnsResponder} answers.
 * Frame, both ways: address length (4 or 16), address, port (u16), payload length (u16), payload. One byte 1 on
 * standard output says the socket is bound. It exits when standard input closes, so it never outlives the agent.
 * JDK classes only: it runs with the agent jar alone on its class path.
 */
public final class DnsRelayChild {

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: DnsRelayChild <bind address> <port>");
            System.exit(2);
        }
        DatagramChannel socket = DatagramChannel.open();
        try {
            socket.bind(new InetSocketAddress(InetAddress.getByName(args[0]), Integer.parseInt(args[1])));
        } catch (IOException e) {
            System.err.println("dns relay: cannot listen on " + args[0] + ":" + args[1] + ": " + e);
            System.exit(1);
        }
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out)));
        out.write(1);
        out.flush();
        Thread.ofPlatform().daemon().name("dns-relay-receive").start(() -> {
            ByteBuffer buf = ByteBuffer.allocate(1500); // as DnsServer.UDP_BUFFER
            try {
                while (true) {
                    buf.clear();
                    InetSocketAddress from = (InetSocketAddress) socket.receive(buf);
                    synchronized (out) {
                        writeFrame(out, from, buf.array(), buf.position());
                        out.flush();
                    }
                }
            } catch (IOException e) {
                System.err.println("dns relay: " + e);
                System.exit(1);
            }
        });
        DataInputStream in = new DataInputStream(new BufferedInputStream(System.in));
        while (true) {
            Frame f;
            try {
                f = readFrame(in);
            } catch (EOFException e) {
                System.exit(0); // the agent is gone
                return;
            }
            try {
                socket.send(ByteBuffer.wrap(f.payload()), f.peer());
            } catch (IOException e) {
                System.err.println("dns relay: send to " + f.peer() + ": " + e);
            }
        }
    }

    /** One datagram and its peer (the source of a query, the destination of a response). */
    record Frame(InetSocketAddress peer, byte[] payload) {
    }

    static void writeFrame(DataOutputStream out, InetSocketAddress peer, byte[] payload, int length) throws IOException {
        byte[] address = peer.getAddress().getAddress();
        out.writeByte(address.length);
        out.write(address);
        out.writeShort(peer.getPort());
        out.writeShort(length);
        out.write(payload, 0, length);
    }

    /** Reads one frame; throws EOFException at the end of the stream, IOException on a malformed frame. */
    static Frame readFrame(DataInputStream in) throws IOException {
        int addressLength = in.readUnsignedByte();
        if (addressLength != 4 && addressLength != 16) {
            throw new IOException("relay frame with a " + addressLength + "-byte address");
        }
        byte[] address = new byte[addressLength];
        in.readFully(address);
        int port = in.readUnsignedShort();
        byte[] payload = new byte[in.readUnsignedShort()];
        in.readFully(payload);
        return new Frame(new InetSocketAddress(InetAddress.getByAddress(address), port), payload);
    }

    private DnsRelayChild() {
    }
}
