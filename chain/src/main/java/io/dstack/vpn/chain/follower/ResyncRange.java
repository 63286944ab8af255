package io.dstack.vpn.chain.follower;

/**
 * What a resync has to read, and how far the running one got. Usually the contract's logs of the blocks no resync
 * has read again yet ({@link #from()} up to the checkpoint), then only the tokens they name: a token no log names
 * cannot have changed through the contract. Every known token instead ({@link #full()}) when there is no block at
 * which the registry was last compared with the contract (a start without checkpoint), after logs that could not be
 * used, and every {@link #FULL_EVERY}-th resync, against what logs cannot show. A resync whose logs do not fit in one
 * poll goes on from where it stopped at the next poll; its totals are reported when it reaches the checkpoint.
 */
final class ResyncRange {
    /** One resync in this many reads every known token (hourly at the default 5 min interval). */
    static final int FULL_EVERY = 12;

    /** Tokens read and corrected by one resync. */
    record Totals(int tokens, int corrected) {
    }

    private boolean full = true;
    /** The last block whose logs a resync read again, or at which every known token was read. */
    private long through;
    private int sinceFull;
    private boolean running;
    private int tokens;
    private int corrected;

    /** Every known token was read at {@code block} (a checkpoint load, a full resync): the logs after it are left. */
    void everyTokenReadAt(long block) {
        through = block;
        full = false;
        sinceFull = 0;
    }

    /** Logs could not be used: the resync reads every known token. */
    void distrust() {
        full = true;
    }

    /** The logs of blocks up to {@code block} were read again and the tokens they name compared. */
    void logsReadThrough(long block) {
        through = block;
    }

    /** The checkpoint went back to {@code ancestor} (a reorg): the blocks after it are read again, never skipped. */
    void rewoundTo(long ancestor) {
        through = Math.min(through, ancestor);
    }

    /** A resync is due: it runs until it reaches the checkpoint; one in {@link #FULL_EVERY} reads every token. */
    void begin() {
        running = true;
        if (++sinceFull >= FULL_EVERY) {
            full = true;
        }
    }

    /**
     * A resync of logs that stopped short of the checkpoint (the poll's budget ran out, a read failed) goes on at
     * the next poll; a full one that failed waits for the next interval, as a full read costs O(tokens).
     */
    boolean goesOn() {
        return running && !full;
    }

    boolean full() {
        return full;
    }

    /** The first block whose logs the resync reads next. */
    long from() {
        return through + 1;
    }

    void count(int tokensRead, int tokensCorrected) {
        tokens += tokensRead;
        corrected += tokensCorrected;
    }

    /** The running resync's totals if it reached {@code checkpoint} (it ends), else null (it goes on next poll). */
    Totals finishedAt(long checkpoint) {
        if (!running || full || from() <= checkpoint) {
            return null;
        }
        Totals done = new Totals(tokens, corrected);
        running = false;
        tokens = 0;
        corrected = 0;
        return done;
    }
}
