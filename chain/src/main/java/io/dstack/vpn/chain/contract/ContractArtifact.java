package io.dstack.vpn.chain.contract;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.ObjectMapper;

/** The compiled access contract checked in at {@code contracts/build/DstackAccessNFT.json} (built by contracts/build.mjs). */
public final class ContractArtifact {
    public static final String PATH = "contracts/build/DstackAccessNFT.json";

    /** Creation bytecode (0x…) of the contract, read from the repository at {@code repoRoot}. */
    public static String bytecode(Path repoRoot) {
        Path file = repoRoot.resolve(PATH);
        try {
            return new ObjectMapper().readTree(Files.readString(file)).get("bytecode").asText();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + " (run node contracts/build.mjs)", e);
        }
    }

    private ContractArtifact() {
    }
}
