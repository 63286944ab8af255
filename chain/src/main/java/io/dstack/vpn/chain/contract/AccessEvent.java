package io.dstack.vpn.chain.contract;

import java.math.BigInteger;

/** A decoded log of the access contract, with where it was seen. */
public sealed interface AccessEvent {
    LogPosition at();

    BigInteger tokenId();

    /** Block number, block hash and index of the log within the block. */
    record LogPosition(long block, String blockHash, long logIndex, String txHash) {
    }

    record Granted(LogPosition at, BigInteger tokenId, String nodeId, String owner, String publicKey) implements AccessEvent {
    }

    record Revoked(LogPosition at, BigInteger tokenId, String nodeId) implements AccessEvent {
    }

    /** ERC-721 Transfer (also emitted on mint, from the zero address). */
    record Transferred(LogPosition at, BigInteger tokenId, String from, String to) implements AccessEvent {
    }

    /** Key rotation of one token (our contract's NodeKeyRotated). */
    record KeyRotated(LogPosition at, BigInteger tokenId, String publicKey) implements AccessEvent {
    }

    /**
     * The prototype's PublicKeyUpdated(owner, key): it does not say which token, so the follower re-reads
     * the owner's tokens. tokenId is null.
     */
    record OwnerKeyUpdated(LogPosition at, String owner, String publicKey) implements AccessEvent {
        @Override
        public BigInteger tokenId() {
            return null;
        }
    }

    /** A log with one of our topics that does not decode: chain data is untrusted, so it is reported, not thrown. */
    record Malformed(LogPosition at, BigInteger tokenId, String reason) implements AccessEvent {
    }
}
