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

class FrameReaderTest {

    private static byte[] frames(int... lengths) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < lengths.length; i++) {
            out.write(lengths[i] >>> 8);
            out.write(lengths[i] & 0xff);
            byte[] payload = new byte[lengths[i]];
            Arrays.fill(payload, (byte) i);
            out.writeBytes(payload);
        }
        return out.toByteArray();
    }

    /** Hands out at most {@code chunk} bytes per read, like a TCP stream cut at arbitrary places. */
    private static InputStream chunked(byte[] bytes, int chunk) {
        return new ByteArrayInputStream(bytes) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, chunk));
            }
        };
    }

    @Test
    void everyFrameComesOutWholeWhateverTheReadSizes() throws IOException {
        int[] lengths = {0, 1, 2, 1420, 2046, 2047, 2048, 4000, 65_535, 7, 65_507, 0, 3};
        for (int chunk : new int[] {1, 3, 1000, 2048, 70_000, Integer.MAX_VALUE}) {
            FrameReader reader = new FrameReader(chunked(frames(lengths), chunk), FrameReader.BeforeRead.NONE);
            for (int i = 0; i < lengths.length; i++) {
                assertThat(reader.next()).as("frame %d with reads of %d", i, chunk).isEqualTo(lengths[i]);
                byte[] expected = new byte[lengths[i]];
                Arrays.fill(expected, (byte) i);
                assertThat(Arrays.copyOfRange(reader.buffer(), reader.offset(), reader.offset() + lengths[i])).isEqualTo(expected);
            }
            assertThat(reader.next()).isEqualTo(-1);
        }
    }

    @Test
    void aHugeAnnouncedFrameCostsOnlyWhatHasArrived() throws IOException {
        // A header announcing 65,535 bytes, then 10 bytes, then the stream stalls (here: ends).
        byte[] header = {(byte) 0xff, (byte) 0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        FrameReader reader = new FrameReader(new ByteArrayInputStream(header), FrameReader.BeforeRead.NONE);
        assertThatThrownBy(reader::next).isInstanceOf(EOFException.class);
        assertThat(reader.capacity()).isEqualTo(FrameReader.INITIAL);
    }

    @Test
    void theBufferGrowsForBigFramesAndShrinksWhenTrafficIsSmallAgain() throws IOException {
        byte[] bytes = frames(60_000, 10);
        // Reads of 1,000 bytes never fill the buffer's room entirely once it is large: then it shrinks back.
        FrameReader reader = new FrameReader(chunked(bytes, 1000), FrameReader.BeforeRead.NONE);
        assertThat(reader.next()).isEqualTo(60_000);
        assertThat(reader.capacity()).isBetween(60_002, FrameReader.MAX);
        assertThat(reader.next()).isEqualTo(10);
        assertThat(reader.next()).isEqualTo(-1);
        assertThat(reader.capacity()).isEqualTo(FrameReader.INITIAL);
    }

    @Test
    void memoryStaysWithinTwiceWhatHasArrived() throws IOException {
        // 64 KiB announced, 5,000 bytes sent, then the stream ends: the buffer never exceeds twice that.
        byte[] partial = Arrays.copyOf(frames(65_535), 5_002);
        FrameReader reader = new FrameReader(chunked(partial, 100), FrameReader.BeforeRead.NONE);
        assertThatThrownBy(reader::next).isInstanceOf(EOFException.class);
        assertThat(reader.capacity()).isLessThanOrEqualTo(2 * 5_002);
    }

    @Test
    void aStreamEndingInsideAHeaderOrPayloadIsAnErrorAndBetweenFramesIsNot() throws IOException {
        assertThat(new FrameReader(new ByteArrayInputStream(new byte[0]), FrameReader.BeforeRead.NONE).next()).isEqualTo(-1);
        assertThatThrownBy(() -> new FrameReader(new ByteArrayInputStream(new byte[] {0}), FrameReader.BeforeRead.NONE).next())
                .isInstanceOf(EOFException.class);
        assertThatThrownBy(() -> new FrameReader(new ByteArrayInputStream(new byte[] {0, 5, 1}), FrameReader.BeforeRead.NONE).next())
                .isInstanceOf(EOFException.class);
    }

    @Test
    void randomFramesInRandomChunksSurviveTheTrip() throws IOException {
        Random random = new Random(7);
        int[] lengths = random.ints(300, 0, 9000).toArray();
        FrameReader reader = new FrameReader(chunked(frames(lengths), 1 + random.nextInt(5000)), FrameReader.BeforeRead.NONE);
        for (int length : lengths) {
            assertThat(reader.next()).isEqualTo(length);
        }
        assertThat(reader.next()).isEqualTo(-1);
    }

    @Test
    void anUnreadFrameComesAgain() throws IOException {
        FrameReader reader = new FrameReader(chunked(frames(5, 7), 3), FrameReader.BeforeRead.NONE);
        assertThat(reader.next()).isEqualTo(5);
        reader.unread();
        assertThat(reader.next()).isEqualTo(5);
        assertThat(reader.buffer()[reader.offset()]).isEqualTo((byte) 0);
        assertThat(reader.next()).isEqualTo(7);
        assertThat(reader.next()).isEqualTo(-1);
    }
}
