package io.dstack.vpn.operator.status;

/** How a failed reconcile is told in a condition or an Event: kind and message, nothing more (no stack trace). */
public final class Failures {

    /**
     * The exception's simple class name and message; where the message only wraps its cause (names its class), the
     * cause's. Conditions and Events clean and bound the text where they are set.
     */
    public static String describe(Exception e) {
        Throwable shown = e.getCause() != null && e.getMessage() != null && e.getMessage().contains(e.getCause().getClass().getName())
                ? e.getCause() : e;
        return shown.getClass().getSimpleName() + (shown.getMessage() == null ? "" : ": " + shown.getMessage());
    }

    private Failures() {
    }
}
