package io.dstack.vpn.agent.node;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Address, MTU, link state and the overlay route of the WireGuard interface, with iproute2. Idempotent
 * ({@code replace} everywhere), so a restarted agent re-asserts the same state without a blip.
 */
public final class InterfaceSetup {
    private final String iface;
    private final List<String> prefix;

    public InterfaceSetup(String iface, List<String> prefix) {
        this.iface = iface;
        this.prefix = prefix;
    }

    /** @param address this node's overlay address, or null while it has none (not admitted) */
    public void apply(String address, String cidr, int mtu) throws IOException {
        String prefixLength = cidr.substring(cidr.indexOf('/') + 1);
        if (address != null) {
            run("ip", "address", "replace", address + "/" + prefixLength, "dev", iface);
        }
        run("ip", "link", "set", iface, "mtu", Integer.toString(mtu), "up");
        run("ip", "route", "replace", cidr, "dev", iface);
    }

    private void run(String... cmd) throws IOException {
        List<String> full = new ArrayList<>(prefix);
        full.addAll(List.of(cmd));
        Process p = new ProcessBuilder(full).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException(String.join(" ", cmd) + " failed: " + out.strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
