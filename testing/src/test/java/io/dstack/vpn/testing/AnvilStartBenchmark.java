package io.dstack.vpn.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.junit.jupiter.api.Test;

/**
 * How long {@link Anvil#start()} takes, from the call until anvil answers {@code eth_chainId} (its readiness
 * poll sleeps 20 ms between tries, so that is the grain). The first start in a JVM pays for class loading
 * and the HTTP client; the rest are warm. Not a test (no *Test suffix): hack/bench-tooling.sh runs it.
 */
class AnvilStartBenchmark {

    static final int RUNS = Integer.getInteger("bench.anvilRuns", 21);

    @Test
    void anvilStartUntilChainIdAnswers() throws Exception {
        List<Double> warm = new ArrayList<>();
        double cold = 0;
        for (int i = 0; i < RUNS; i++) {
            long t0 = System.nanoTime();
            try (Anvil anvil = Anvil.start()) {
                double ms = (System.nanoTime() - t0) / 1e6;
                if (i == 0) {
                    cold = ms;
                } else {
                    warm.add(ms);
                }
                assertThat(anvil.rpcUrl()).startsWith("http://127.0.0.1:");
            }
        }
        warm.sort(null);
        System.out.printf(Locale.ROOT, "machine: %d cores, JDK %s, load average %s%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.version"), Files.readString(Path.of("/proc/loadavg")).trim());
        System.out.printf(Locale.ROOT, "anvil start until eth_chainId answers: first in the JVM %.0f ms; next %d: p50 %.0f ms, p99 (max) %.0f ms, min %.0f ms%n",
                cold, warm.size(), warm.get(warm.size() / 2), warm.get(warm.size() - 1), warm.get(0));
    }
}
