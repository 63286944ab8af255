package io.dstack.vpn.cli;

/** Exit codes of every command, stable for scripts. */
public final class ExitCodes {
    public static final int OK = 0;
    /** A check answered no (verify: no access). */
    public static final int NO = 1;
    /** Bad usage or invalid input (address, key, node id): nothing was sent. */
    public static final int USAGE = 2;
    /**
     * Configuration: no signing key or a key file others can read, a fee over the cap, wrong chain id, not the
     * contract owner, no contract or RPC given, a VpnNetwork that disagrees with the admin's settings.
     */
    public static final int CONFIG = 3;
    /** The chain or the cluster could not be reached, or a transaction failed. */
    public static final int UNAVAILABLE = 4;
    /** The token, node id or peer does not exist. */
    public static final int NOT_FOUND = 5;

    private ExitCodes() {
    }
}
