package io.dstack.vpn.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Mullvad's own {@code tcp2udp} and {@code udp2tcp}, built from the vendored source by
 * {@code hack/install-mullvad-udp-over-tcp.sh} (which {@code make test} runs through the bootstrap). Found in
 * {@code $MULLVAD_UDP_OVER_TCP_BIN}, else {@code ${DSTACK_CACHE:-~/.cache/dstack-vpn}/mullvad-udp-over-tcp/release}.
 * Interop tests call {@link #require()}: missing binaries are a failure, never a skip, so CI cannot pass
 * without having compared us with them.
 */
public final class MullvadUdpOverTcp {
    public static final String INSTALL = "hack/install-mullvad-udp-over-tcp.sh";

    private final Path dir;

    private MullvadUdpOverTcp(Path dir) {
        this.dir = dir;
    }

    public static Path defaultDir() {
        String env = System.getenv("MULLVAD_UDP_OVER_TCP_BIN");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        String cache = System.getenv("DSTACK_CACHE");
        Path root = cache != null && !cache.isBlank() ? Path.of(cache) : Path.of(System.getProperty("user.home"), ".cache", "dstack-vpn");
        return root.resolve("mullvad-udp-over-tcp").resolve("release");
    }

    /** The binaries, or an AssertionError that says how to build them. */
    public static MullvadUdpOverTcp require() {
        Path dir = defaultDir();
        for (String b : List.of("tcp2udp", "udp2tcp")) {
            if (!Files.isExecutable(dir.resolve(b))) {
                throw new AssertionError("Mullvad's " + b + " not found in " + dir + ": run " + INSTALL
                        + " (or set MULLVAD_UDP_OVER_TCP_BIN); the interop tests do not skip");
            }
        }
        return new MullvadUdpOverTcp(dir);
    }

    /** {@code tcp2udp --tcp-listen <listen> --udp-forward <forward> [extra...]}. */
    public List<String> tcp2udp(String listen, String forward, String... extra) {
        List<String> cmd = new ArrayList<>(List.of(dir.resolve("tcp2udp").toString(), "--tcp-listen", listen, "--udp-forward", forward));
        cmd.addAll(List.of(extra));
        return cmd;
    }

    /** {@code udp2tcp --udp-listen <listen> --tcp-forward <forward> [extra...]}. */
    public List<String> udp2tcp(String listen, String forward, String... extra) {
        List<String> cmd = new ArrayList<>(List.of(dir.resolve("udp2tcp").toString(), "--udp-listen", listen, "--tcp-forward", forward));
        cmd.addAll(List.of(extra));
        return cmd;
    }
}
