package io.dstack.vpn.cli;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

import io.dstack.vpn.chain.follower.ChainFollower;
import io.dstack.vpn.chain.follower.FollowerConfig;
import io.dstack.vpn.chain.follower.FollowerListener;
import io.dstack.vpn.chain.registry.AccessRegistry;
import io.dstack.vpn.chain.registry.TokenRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** Reads every token from the contract's logs with the operator's own follower, so it sees exactly what the operator sees. */
@Command(name = "list", description = "Every token: node id, key, owner, active, and data problems.")
class ListCommand implements Callable<Integer> {
    @ParentCommand
    DstackVpn root;
    @Mixin
    ReadChainOptions chain;

    @Option(names = "--from-block", description = "the contract's deployment block (default: the VpnNetwork's fromBlock, else 0)")
    Long fromBlock;

    @Option(names = "--active", description = "only active tokens")
    boolean activeOnly;

    @Option(names = "--owner", description = "only tokens held by this address")
    String owner;

    @Option(names = "--node", description = "only this node id")
    String node;

    @Override
    public Integer call() {
        if (owner != null) {
            Inputs.address("owner", owner);
        }
        var resolved = chain.resolved(root);
        long from = fromBlock != null ? fromBlock : chain.networkFromBlock != null ? chain.networkFromBlock : 0;
        AccessRegistry registry = new AccessRegistry();
        ChainFollower follower = new ChainFollower(chain.rpc(root), FollowerConfig.of(resolved.contract(), resolved.chainId(), from,
                Duration.ofSeconds(1), Duration.ofDays(1)), registry, new FollowerListener() {
                }, Clock.systemUTC());
        long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        while (!registry.synced()) {
            follower.poll();
            if (follower.health().error() != null && !registry.synced()) {
                throw new CliException(ExitCodes.UNAVAILABLE, "reading the contract's logs failed: " + follower.health().error());
            }
            if (System.nanoTime() > deadline) {
                throw new CliException(ExitCodes.UNAVAILABLE, "reading the contract's logs took more than 5 minutes; pass --from-block");
            }
        }
        List<Map<String, Object>> rows = new ArrayList<>();
        for (TokenRecord t : registry.all()) {
            if ((activeOnly && !t.active()) || (owner != null && !owner.equalsIgnoreCase(t.owner())) || (node != null && !node.equals(t.nodeId()))) {
                continue;
            }
            rows.add(Output.map("tokenId", t.tokenId().toString(), "nodeId", t.nodeId(), "publicKey", t.publicKey(), "owner", t.owner(),
                    "active", t.active(), "problem", t.problem()));
        }
        Output.rows(root.out(), root.output, List.of("tokenId", "nodeId", "publicKey", "owner", "active", "problem"), rows);
        return ExitCodes.OK;
    }
}
