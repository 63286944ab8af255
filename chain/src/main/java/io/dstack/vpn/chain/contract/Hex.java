package io.dstack.vpn.chain.contract;

import java.util.regex.Pattern;

import io.dstack.vpn.api.text.SafeText;

/** Strict checks of JSON-RPC hex values, which come from an untrusted endpoint. */
public final class Hex {
    /** A quantity: 0x, no leading zeros, at most 15 digits so that it fits a non-negative long. */
    private static final Pattern QUANTITY = Pattern.compile("0x(0|[1-9a-fA-F][0-9a-fA-F]{0,14})");
    private static final Pattern HASH = Pattern.compile("0x[0-9a-fA-F]{64}");
    private static final Pattern ADDRESS = Pattern.compile("0x[0-9a-fA-F]{40}");
    private static final Pattern DATA = Pattern.compile("0x([0-9a-fA-F]{2})*");

    /**
     * Parses a quantity such as a block number.
     *
     * @throws IllegalArgumentException with the value shown short and clean
     */
    public static long quantity(String hex) {
        if (hex == null || !QUANTITY.matcher(hex).matches()) {
            throw new IllegalArgumentException("malformed hex quantity " + shown(hex));
        }
        return Long.parseLong(hex.substring(2), 16);
    }

    public static boolean isQuantity(String hex) {
        return hex != null && QUANTITY.matcher(hex).matches();
    }

    public static boolean isHash(String hex) {
        return hex != null && HASH.matcher(hex).matches();
    }

    public static boolean isAddress(String hex) {
        return hex != null && ADDRESS.matcher(hex).matches();
    }

    /** Even-length hex bytes; the length check first, so a huge value is not scanned. */
    public static boolean isData(String hex, int maxChars) {
        return hex != null && hex.length() <= maxChars && DATA.matcher(hex).matches();
    }

    public static String shown(String value) {
        return value == null ? "(missing)" : "'" + SafeText.bounded(value, 40) + "'";
    }

    private Hex() {
    }
}
