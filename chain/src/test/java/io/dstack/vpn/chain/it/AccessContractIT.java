package io.dstack.vpn.chain.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.chain.contract.AccessContract;
import io.dstack.vpn.chain.contract.AccessEvent;
import io.dstack.vpn.chain.contract.ContractWriter;
import io.dstack.vpn.chain.rpc.RpcException;
import io.dstack.vpn.testing.Anvil;

/** Our access contract on a real anvil: owner-only writes, holder-only key rotation, node-id rules, events. */
class AccessContractIT {
    TestChain chain;

    @BeforeEach
    void start() throws Exception {
        chain = new TestChain(Anvil.Options.defaults());
    }

    @AfterEach
    void stop() {
        chain.close();
    }

    static String key() {
        return WireGuardKey.generatePrivate().publicKey().toBase64();
    }

    String call(String data) {
        return chain.rpc.call("eth_call", Map.of("to", chain.contract, "data", data), "latest").asText();
    }

    List<AccessEvent> events(ContractWriter.Receipt r) {
        JsonNode receipt = chain.rpc.call("eth_getTransactionReceipt", r.txHash());
        List<AccessEvent> events = new ArrayList<>();
        receipt.path("logs").forEach(l -> events.add(AccessContract.decodeLog(l)));
        return events;
    }

    @Test
    void ownerMintsAndTheRecordAndEventsSayWhat() {
        String k = key();
        ContractWriter.Receipt r = chain.owner.mint(chain.contract, Anvil.ACCOUNT_1, "node-a", k, "ipfs://x");
        assertThat(r.success()).isTrue();
        assertThat(r.mintedTokenId()).isEqualTo(BigInteger.ONE);
        AccessContract.TokenState s = AccessContract.decodeNodeAccess(BigInteger.ONE, call(AccessContract.getNodeAccess(BigInteger.ONE)), null);
        assertThat(s.nodeId()).isEqualTo("node-a");
        assertThat(s.publicKey()).isEqualTo(k);
        assertThat(s.active()).isTrue();
        assertThat(AccessContract.decodeAddress(call(AccessContract.ownerOf(BigInteger.ONE)))).isEqualToIgnoringCase(Anvil.ACCOUNT_1);
        assertThat(AccessContract.decodeUint(call(AccessContract.getTokenIdByNodeId("node-a")))).isEqualTo(1);
        assertThat(events(r)).hasAtLeastOneElementOfType(AccessEvent.Granted.class).hasAtLeastOneElementOfType(AccessEvent.Transferred.class);
    }

    @Test
    void onlyTheOwnerMintsAndRevokes() {
        BigInteger id = chain.owner.mint(chain.contract, Anvil.ACCOUNT_1, "node-a", key(), "").mintedTokenId();
        assertThatThrownBy(() -> chain.holder.mint(chain.contract, Anvil.ACCOUNT_1, "node-b", key(), "")).isInstanceOf(RpcException.class);
        assertThatThrownBy(() -> chain.holder.revoke(chain.contract, id)).isInstanceOf(RpcException.class);
        ContractWriter.Receipt r = chain.owner.revoke(chain.contract, id);
        assertThat(events(r)).singleElement().isInstanceOf(AccessEvent.Revoked.class);
        assertThatThrownBy(() -> chain.owner.revoke(chain.contract, id)).as("already revoked").isInstanceOf(RpcException.class);
    }

    @Test
    void anActiveNodeIdCannotBeMintedTwiceButARevokedOneCan() {
        BigInteger first = chain.owner.mint(chain.contract, Anvil.ACCOUNT_1, "node-a", key(), "").mintedTokenId();
        assertThatThrownBy(() -> chain.owner.mint(chain.contract, Anvil.ACCOUNT_2, "node-a", key(), "")).isInstanceOf(RpcException.class);
        chain.owner.revoke(chain.contract, first);
        BigInteger second = chain.owner.mint(chain.contract, Anvil.ACCOUNT_2, "node-a", key(), "").mintedTokenId();
        assertThat(second).isGreaterThan(first);
        assertThat(AccessContract.decodeUint(call(AccessContract.getTokenIdByNodeId("node-a")))).isEqualTo(second);
    }

    @Test
    void onlyTheHolderRotatesTheKeyAndTransfersEmitEvents() {
        BigInteger id = chain.owner.mint(chain.contract, Anvil.ACCOUNT_1, "node-a", key(), "").mintedTokenId();
        assertThatThrownBy(() -> chain.owner.updatePublicKey(chain.contract, id, key())).as("contract owner is not the holder")
                .isInstanceOf(RpcException.class);
        String k2 = key();
        ContractWriter.Receipt rotated = chain.holder.updatePublicKey(chain.contract, id, k2);
        assertThat(events(rotated)).anySatisfy(e -> assertThat(e).isInstanceOfSatisfying(AccessEvent.KeyRotated.class,
                k -> assertThat(k.publicKey()).isEqualTo(k2)));
        assertThat(events(rotated)).hasAtLeastOneElementOfType(AccessEvent.OwnerKeyUpdated.class);

        ContractWriter.Receipt moved = chain.holder.transfer(chain.contract, Anvil.ACCOUNT_1, Anvil.ACCOUNT_2, id);
        assertThat(events(moved)).anySatisfy(e -> assertThat(e).isInstanceOfSatisfying(AccessEvent.Transferred.class,
                t -> assertThat(t.to()).isEqualToIgnoringCase(Anvil.ACCOUNT_2)));
        assertThat(AccessContract.decodeAddress(call(AccessContract.ownerOf(id)))).isEqualToIgnoringCase(Anvil.ACCOUNT_2);
    }
}
