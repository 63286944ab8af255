package io.dstack.vpn.api.crd;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Rewrites a CRD directory from the Java model: the one way to update crds/ (hack/update-crds.sh runs it).
 * Kept apart from {@link CrdDriftTest} on purpose, so the test can only ever compare.
 *
 * <p>Usage: {@code UpdateCrds <dir>}. Removes *.yml files in {@code dir} the model no longer renders.
 */
public final class UpdateCrds {

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: UpdateCrds <crds dir>");
        }
        Path dir = Path.of(args[0]);
        Path tmp = Files.createTempDirectory("crds-");
        try {
            Map<String, String> generated = CrdRenderer.render(tmp);
            Files.createDirectories(dir);
            try (var listing = Files.list(dir)) {
                for (Path stale : listing.filter(p -> p.toString().endsWith(".yml")
                        && !generated.containsKey(p.getFileName().toString())).toList()) {
                    Files.delete(stale);
                }
            }
            for (var e : generated.entrySet()) {
                Files.writeString(dir.resolve(e.getKey()), e.getValue());
            }
        } finally {
            try (var listing = Files.list(tmp)) {
                for (Path p : listing.toList()) {
                    Files.delete(p);
                }
            }
            Files.delete(tmp);
        }
    }

    private UpdateCrds() {
    }
}
