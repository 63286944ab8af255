package io.dstack.vpn.cli;

import java.math.BigInteger;
import java.util.regex.Pattern;

import io.dstack.vpn.api.wireguard.WireGuardKey;

/** Validation of what a person typed, before anything is sent: the same rules the CRDs enforce. */
final class Inputs {
    private static final Pattern ADDRESS = Pattern.compile("^0x[0-9a-fA-F]{40}$");
    private static final Pattern NODE_ID = Pattern.compile("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$");

    static String address(String what, String value) {
        if (value == null || !ADDRESS.matcher(value).matches()) {
            throw new CliException(ExitCodes.USAGE, what + " '" + value + "' is not an Ethereum address (0x followed by 40 hex digits)");
        }
        return value;
    }

    static String nodeId(String value) {
        if (value == null || !NODE_ID.matcher(value).matches()) {
            throw new CliException(ExitCodes.USAGE, "node id '" + value
                    + "' is not a DNS-1123 label (lowercase letters, digits and '-', at most 63 characters)");
        }
        return value;
    }

    static String publicKey(String value) {
        if (!WireGuardKey.isValid(value)) {
            throw new CliException(ExitCodes.USAGE, "public key is not a WireGuard key (32 bytes of base64, 44 characters ending in '=')");
        }
        return value;
    }

    static BigInteger tokenId(String value) {
        try {
            BigInteger id = new BigInteger(value);
            if (id.signum() <= 0) {
                throw new NumberFormatException();
            }
            return id;
        } catch (NumberFormatException e) {
            throw new CliException(ExitCodes.USAGE, "token id '" + value + "' is not a positive number");
        }
    }

    private Inputs() {
    }
}
