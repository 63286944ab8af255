package io.dstack.vpn.chain.it;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import io.dstack.vpn.chain.contract.ContractArtifact;
import io.dstack.vpn.chain.contract.ContractWriter;
import io.dstack.vpn.chain.rpc.RpcClient;
import io.dstack.vpn.chain.rpc.RpcException;
import io.dstack.vpn.chain.rpc.RpcListener;
import io.dstack.vpn.testing.Anvil;

/** A real anvil with our contract deployed from contracts/build, a writer for the owner and one for a holder. */
final class TestChain implements AutoCloseable {
    final Anvil anvil;
    final RpcClient rpc;
    final ContractWriter owner;
    final ContractWriter holder;
    final String contract;
    final AtomicInteger calls = new AtomicInteger();

    TestChain(Anvil.Options options) throws IOException {
        anvil = Anvil.start(options);
        rpc = new RpcClient(List.of(anvil.rpcUrl()), Duration.ofSeconds(2), 2, Duration.ofMillis(50), Duration.ofMillis(200), new RpcListener() {
            @Override
            public void completed(String endpoint, String method, int n, long nanos) {
                calls.addAndGet(n);
            }

            @Override
            public void failed(String endpoint, String method, int n, long nanos, RpcException error) {
                calls.addAndGet(n);
            }
        });
        owner = new ContractWriter(rpc, Anvil.PRIVATE_KEY_0, Anvil.BASE_CHAIN_ID, Duration.ofSeconds(30));
        holder = new ContractWriter(rpc, Anvil.PRIVATE_KEY_1, Anvil.BASE_CHAIN_ID, Duration.ofSeconds(30));
        contract = owner.deploy(bytecode()).contractAddress();
    }

    static String bytecode() {
        return ContractArtifact.bytecode(Path.of(System.getProperty("dstack.repo.root", "..")));
    }

    void mine(int blocks) throws IOException {
        anvil.rpc("anvil_mine", "[\"0x" + Integer.toHexString(blocks) + "\"]");
    }

    @Override
    public void close() {
        anvil.close();
    }
}
