package io.dstack.vpn.api.text;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Makes text from untrusted sources (RPC error messages, chain data, exception messages) fit for a status
 * condition, an Event or a log line: URLs reduced to scheme://host:port (their user info, path and query may
 * hold an API key), control and non-printable characters replaced, and the whole bounded.
 */
public final class SafeText {
    /** Longest message a condition carries: long enough to read, short enough that status stays small. */
    public static final int MAX_MESSAGE = 512;

    /** scheme://[userinfo@]host[:port][/path?query#fragment], host being a name, IPv4 or [IPv6]. */
    private static final Pattern URL = Pattern.compile(
            "(?i)\\b([a-z][a-z0-9+.-]{0,15})://(?:[^\\s/@\"'<>]*@)?(\\[[0-9a-f:.]+\\]|[^\\s/:?#\"'<>@]+)(:\\d{1,5})?[^\\s\"'<>]*");

    /** {@link #clean} bounded to {@link #MAX_MESSAGE} characters. */
    public static String message(String text) {
        return bounded(text, MAX_MESSAGE);
    }

    /** {@link #clean} bounded to {@code max} characters, "..." and the original length marking a cut. */
    public static String bounded(String text, int max) {
        if (text == null) {
            return null;
        }
        // Cut before cleaning too, so a 100 MB message is never scanned whole.
        String head = text.length() > 4 * max ? text.substring(0, 4 * max) : text;
        String clean = clean(head);
        if (clean.length() <= max && head.length() == text.length()) {
            return clean;
        }
        String suffix = "... (" + text.length() + " characters)"; // ASCII: cleaning twice changes nothing
        return clean.substring(0, Math.max(0, Math.min(clean.length(), max - suffix.length()))) + suffix;
    }

    /** Redacts URLs and replaces every character outside printable ASCII with '?'. Does not bound. */
    public static String clean(String text) {
        if (text == null) {
            return null;
        }
        Matcher m = URL.matcher(text);
        StringBuilder sb = new StringBuilder(text.length());
        while (m.find()) {
            m.appendReplacement(sb, Matcher.quoteReplacement(m.group(1) + "://" + m.group(2) + (m.group(3) == null ? "" : m.group(3))));
        }
        m.appendTail(sb);
        StringBuilder out = new StringBuilder(sb.length());
        sb.codePoints().forEach(c -> out.append(c >= 0x20 && c < 0x7f ? (char) c : '?'));
        return out.toString();
    }

    private SafeText() {
    }
}
