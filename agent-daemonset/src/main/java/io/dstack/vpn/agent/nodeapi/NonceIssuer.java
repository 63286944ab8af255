package io.dstack.vpn.agent.nodeapi;

import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Server nonces (ADR 0015): {@code ts ‖ rand ‖ HMAC(secret, ts ‖ rand)}, 8 + 16 + 16 bytes. Stateless to issue and
 * to check, so every replica with the same secret accepts every replica's nonces; no node clock is involved (the
 * timestamp is the server's). Valid for {@link #VALIDITY_MILLIS}, and used once per replica: a used nonce is
 * remembered until it expires, in a map of bounded size. Across replicas a replay inside the validity window can
 * only repeat the very same request (the request MAC covers it all), and every request is idempotent.
 */
public final class NonceIssuer {
    public static final long VALIDITY_MILLIS = 30_000;
    /** A nonce from a replica whose clock runs this much ahead is still taken. */
    static final long FUTURE_SKEW_MILLIS = 2_000;
    public static final int LENGTH = 8 + 16 + 16;
    private static final int TAG_LENGTH = 16;
    private static final byte[] LABEL = NodeAuth.ascii("dstack-vpn node-api v1 nonce");
    private static final SecureRandom RANDOM = new SecureRandom();

    public enum Verdict {
        /** Genuine, fresh and now used. */
        ACCEPTED,
        /** Not ours, malformed, expired or already used: the node fetches a new one. */
        STALE,
        /** The used-nonce map is full of unexpired entries: refuse rather than forget (a replay would pass). */
        BUSY
    }

    private final byte[] secret;
    private final LongSupplier clock;
    private final int maxRemembered;
    /** Used nonces and when each expires, in the order they were used. */
    private final LinkedHashMap<ByteBuffer, Long> used = new LinkedHashMap<>();
    private long lastSweep;

    /**
     * @param secret        the HMAC key; replicas share it ({@link NodeApiServer} derives it from the server key)
     * @param clock         milliseconds (System::currentTimeMillis; a fake in tests)
     * @param maxRemembered how many used, unexpired nonces this replica keeps at most
     */
    public NonceIssuer(byte[] secret, LongSupplier clock, int maxRemembered) {
        this.secret = secret.clone();
        this.clock = clock;
        this.maxRemembered = maxRemembered;
    }

    public byte[] issue() {
        ByteBuffer b = ByteBuffer.allocate(LENGTH);
        b.putLong(clock.getAsLong());
        byte[] rand = new byte[16];
        RANDOM.nextBytes(rand);
        b.put(rand);
        b.put(tag(b.array()));
        return b.array();
    }

    /** Genuine and within its validity; does not use it up. */
    public boolean fresh(byte[] nonce) {
        if (nonce == null || nonce.length != LENGTH) {
            return false;
        }
        if (!NodeAuth.macEquals(tag(nonce), Arrays.copyOfRange(nonce, LENGTH - TAG_LENGTH, LENGTH))) {
            return false;
        }
        long age = clock.getAsLong() - ByteBuffer.wrap(nonce).getLong();
        return age >= -FUTURE_SKEW_MILLIS && age <= VALIDITY_MILLIS;
    }

    /** Checks the nonce and marks it used: the second use of a nonce is STALE. */
    public Verdict consume(byte[] nonce) {
        if (!fresh(nonce)) {
            return Verdict.STALE;
        }
        long now = clock.getAsLong();
        long expires = ByteBuffer.wrap(nonce).getLong() + VALIDITY_MILLIS;
        synchronized (used) {
            dropExpired(now);
            ByteBuffer key = ByteBuffer.wrap(nonce.clone());
            if (used.containsKey(key)) {
                return Verdict.STALE;
            }
            if (used.size() >= maxRemembered) {
                return Verdict.BUSY;
            }
            used.put(key, expires);
            return Verdict.ACCEPTED;
        }
    }

    /** How many used nonces are remembered (tests, metrics). */
    public int remembered() {
        synchronized (used) {
            return used.size();
        }
    }

    /**
     * Entries are roughly in expiry order (used soon after being issued), so dropping from the head is cheap; a
     * full sweep, at most once a second, catches what the order missed when the map is full.
     */
    private void dropExpired(long now) {
        Iterator<Map.Entry<ByteBuffer, Long>> it = used.entrySet().iterator();
        while (it.hasNext()) {
            if (it.next().getValue() >= now) {
                break;
            }
            it.remove();
        }
        if (used.size() >= maxRemembered && now - lastSweep >= 1000) {
            lastSweep = now;
            used.values().removeIf(expiry -> expiry < now);
        }
    }

    private byte[] tag(byte[] nonce) {
        byte[] body = Arrays.copyOf(nonce, 8 + 16);
        return Arrays.copyOf(NodeAuth.hmac(secret, NodeAuth.concat(LABEL, body)), TAG_LENGTH);
    }
}
