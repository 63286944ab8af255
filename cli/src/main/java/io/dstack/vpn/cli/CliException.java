package io.dstack.vpn.cli;

/** An error with the exit code scripts can rely on (see {@link ExitCodes}); the message is for a person. */
public class CliException extends RuntimeException {
    private final int exitCode;

    public CliException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }
}
