package io.dstack.vpn.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;

class FramingTest {

    @Test
    void headerIsBigEndianU16Length() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] frame = new byte[Framing.HEADER + 300];
        frame[2] = 7;
        Framing.writeFrame(out, frame, 300);
        byte[] wire = out.toByteArray();
        assertThat(wire).hasSize(302);
        assertThat(wire[0] & 0xff).isEqualTo(0x01); // 300 = 0x012C
        assertThat(wire[1] & 0xff).isEqualTo(0x2C);
        assertThat(wire[2]).isEqualTo((byte) 7);
    }

    @Test
    void everyLengthFromZeroToMaxRoundTrips() throws IOException {
        byte[] frame = new byte[Framing.HEADER + Framing.MAX_PAYLOAD];
        new Random(1).nextBytes(frame);
        byte[] buf = new byte[Framing.MAX_PAYLOAD];
        for (int length : new int[] {0, 1, 255, 256, 1420, 65507, 65534, 65535}) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Framing.writeFrame(out, frame, length);
            int read = Framing.readFrame(new ByteArrayInputStream(out.toByteArray()), buf);
            assertThat(read).isEqualTo(length);
            assertThat(Arrays.copyOf(buf, length)).isEqualTo(Arrays.copyOfRange(frame, 2, 2 + length));
        }
    }

    @Test
    void framesSplitIntoSingleBytesAndCoalescedAreReadWhole() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] frame = new byte[Framing.HEADER + 1000];
        for (int i = 0; i < 50; i++) {
            Arrays.fill(frame, 2, 2 + i * 20, (byte) i);
            Framing.writeFrame(out, frame, i * 20);
        }
        InputStream oneByteAtATime = new ByteArrayInputStream(out.toByteArray()) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, 1));
            }
        };
        byte[] buf = new byte[Framing.MAX_PAYLOAD];
        for (int i = 0; i < 50; i++) {
            assertThat(Framing.readFrame(oneByteAtATime, buf)).isEqualTo(i * 20);
            for (int j = 0; j < i * 20; j++) {
                assertThat(buf[j]).isEqualTo((byte) i);
            }
        }
        assertThat(Framing.readFrame(oneByteAtATime, buf)).isEqualTo(-1);
    }

    @Test
    void aStreamCutInsideAFrameIsAnError() {
        byte[] buf = new byte[Framing.MAX_PAYLOAD];
        assertThatThrownBy(() -> Framing.readFrame(new ByteArrayInputStream(new byte[] {0}), buf))
                .isInstanceOf(EOFException.class).hasMessageContaining("header");
        assertThatThrownBy(() -> Framing.readFrame(new ByteArrayInputStream(new byte[] {0, 10, 1, 2, 3}), buf))
                .isInstanceOf(EOFException.class).hasMessageContaining("3 of 10");
    }

    @Test
    void refusesAPayloadAFrameCannotCarry() {
        byte[] frame = new byte[Framing.HEADER + Framing.MAX_PAYLOAD + 1];
        assertThatThrownBy(() -> Framing.writeFrame(new ByteArrayOutputStream(), frame, Framing.MAX_PAYLOAD + 1))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
