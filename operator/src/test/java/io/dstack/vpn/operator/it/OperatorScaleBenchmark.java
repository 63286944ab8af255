package io.dstack.vpn.operator.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.Test;
import org.web3j.crypto.Credentials;
import org.web3j.crypto.RawTransaction;
import org.web3j.crypto.TransactionEncoder;
import org.web3j.utils.Numeric;

import com.fasterxml.jackson.databind.JsonNode;

import io.dstack.vpn.api.Conditions;
import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.peerset.PeerSetIndex;
import io.dstack.vpn.api.peerset.PeerSetShard;
import io.dstack.vpn.api.peerset.PeerSetShards;
import io.dstack.vpn.api.peerset.StoredPeerSet;
import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerPhase;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.chain.contract.AccessContract;
import io.dstack.vpn.chain.contract.ContractArtifact;
import io.dstack.vpn.chain.contract.ContractWriter;
import io.dstack.vpn.chain.rpc.RpcCall;
import io.dstack.vpn.chain.rpc.RpcClient;
import io.dstack.vpn.chain.rpc.RpcListener;
import io.dstack.vpn.chain.rpc.RpcResult;
import io.dstack.vpn.operator.peerset.PeerSetLayout;
import io.dstack.vpn.operator.peerset.PeerSetSharder;
import io.dstack.vpn.testing.Anvil;
import io.dstack.vpn.testing.OperatorProcess;
import io.dstack.vpn.testing.RealApiServer;
import io.dstack.vpn.testing.TestResources;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;

/**
 * Operator scale (issue 8): one VpnNetwork with 5,000 peers on real components. Anvil runs our contract with
 * 5,000 minted tokens (the chain access source), the packaged operator runs as its own JVM against the real API
 * server, and the benchmark creates the 5,000 VpnPeers the way agents would (node id, key, IPv4 endpoint).
 * Measured:
 * <ul>
 * <li>the initial load: from the first VpnPeer create until all 5,000 are Active, addressed and in the peer-set
 * ConfigMap;</li>
 * <li>status writes per second (VpnPeer, VpnNetwork; also ConfigMaps and Events), counted by watches on the
 * objects (every watch event is one new resourceVersion), during the initial load, a quiet steady state and the
 * change phase;</li>
 * <li>change-to-rendered: one peer's token revoked or (re-)granted on chain, from the block that carries it (its
 * receipt first visible, polled every 2 ms) until the node's shard {@code <net>-peerset-<k>-of-<K>} without / with
 * the node arrives on a watch (the object agents act on); also until the index {@code <net>-peerset} reaches that
 * generation; p50/p99 over {@code bench.changes} revokes and as many grants;</li>
 * <li>the operator's RSS ({@code VmRSS}), sampled every 250 ms;</li>
 * <li>the sharded peer set (ADR 0002): shards, largest object against the 900 KiB per-object guard, total bytes,
 * live and computed for other peer shapes; shard and index writes are counted apart.</li>
 * </ul>
 * Not a CI test (the name matches neither *Test nor *IT): run {@code hack/bench-operator-scale.sh}. System
 * properties: {@code bench.peers} (5000), {@code bench.changes} (20 revokes + 20 grants), {@code bench.poll}
 * (follower poll, 100ms), {@code bench.blockTime} (s between blocks after setup, 2 as on Base),
 * {@code bench.steadySeconds} (30), {@code bench.createThreads} (4), {@code bench.restart} (true: also restart
 * the operator with everything in place), {@code bench.nodeIdLength} (10: node ids {@code node-00001}; longer ones
 * are padded in front with {@code x} up to this length, at most 63; VpnPeer names are the node ids),
 * {@code bench.cidr} (10.96.0.0/19, or /18 above 8,190 peers). Results are printed and written to
 * {@code operator/target/operator-scale-benchmark.txt}; the operators' logs to
 * {@code operator/target/operator-scale-operator-<n>.log}.
 */
class OperatorScaleBenchmark {
    static final int PEERS = Integer.getInteger("bench.peers", 5000);
    static final int CHANGES = Integer.getInteger("bench.changes", 20);
    static final String POLL = System.getProperty("bench.poll", "100ms");
    static final int BLOCK_TIME = Integer.getInteger("bench.blockTime", 2);
    static final int STEADY_SECONDS = Integer.getInteger("bench.steadySeconds", 30);
    static final int CREATE_THREADS = Integer.getInteger("bench.createThreads", 4);
    static final boolean RESTART = Boolean.parseBoolean(System.getProperty("bench.restart", "true"));
    /**
     * cold: the 5,000 VpnPeers are created while the operator is stopped, then it starts and the load is timed
     * from its launch (the operator's own throughput); online: they are created while it runs (the load is then
     * paced by how fast the benchmark creates them).
     */
    static final String LOAD = System.getProperty("bench.load", "cold");
    static final String NS = "scale";
    static final String NET = "scale";
    static final int NODE_ID_LENGTH = Integer.getInteger("bench.nodeIdLength", 10);
    static final String CIDR = System.getProperty("bench.cidr", PEERS > 8190 ? "10.96.0.0/18" : "10.96.0.0/19");
    static final int GUARD = 900 * 1024;
    static final int MINTS_PER_BLOCK = 200;
    /** Watch kinds of the peer-set objects: the index {@code <net>-peerset} and the shards {@code <net>-peerset-<k>-of-<K>}. */
    static final String INDEX = "peerset-index";
    static final String SHARD = "peerset-shard";

    final StringBuilder report = new StringBuilder();
    final long started = System.nanoTime();

    /** One watch event: what, when (System.nanoTime at arrival), and its type. */
    record Ev(long at, String kind, String action) {
    }

    /** A shard as it arrived on the watch, decoded. */
    record ShardEv(long at, String name, PeerSetShard shard) {
    }

    /** The index as it arrived on the watch. */
    record IndexEv(long at, long generation) {
    }

    final List<Ev> events = new CopyOnWriteArrayList<>();
    final List<ShardEv> shardEvents = new CopyOnWriteArrayList<>();
    final List<IndexEv> indexEvents = new CopyOnWriteArrayList<>();
    /** The latest decoded shard per ConfigMap name, and the latest index (watch thread only). */
    final Map<String, PeerSetShard> latestShards = new ConcurrentHashMap<>();
    volatile PeerSetIndex latestIndex;
    volatile boolean keepPeerSets;
    final Map<String, VpnPeerPhase> phases = new ConcurrentHashMap<>();
    final Map<String, String> addresses = new ConcurrentHashMap<>();
    /** "peer/Phase" → first arrival of that phase since the key was last cleared. */
    final Map<String, Long> phaseAt = new ConcurrentHashMap<>();
    final AtomicInteger active = new AtomicInteger();
    final AtomicInteger addressed = new AtomicInteger();
    volatile long allActiveAt;
    volatile long allAddressedAt;
    volatile long renderedAt;
    volatile int renderedShards;
    volatile long lastPeerSetCount;
    volatile VpnNetwork lastNetwork;
    final AtomicLong peakRss = new AtomicLong();
    final List<Watch> watches = new ArrayList<>();

    List<String> nodes = new ArrayList<>();
    List<String> keys = new ArrayList<>();
    final List<OperatorProcess> operators = new ArrayList<>();
    String coldChainSync = "not measured (online load)";

    @Test
    void operatorScale() throws Exception {
        machine("before");
        peerSetSizes();
        try (Anvil anvil = Anvil.start(Anvil.Options.defaults().withExtraArgs(List.of("--gas-limit", "200000000")))) {
            RpcClient rpc = new RpcClient(List.of(anvil.rpcUrl()), Duration.ofSeconds(30), 2, Duration.ofMillis(50), Duration.ofMillis(200),
                    RpcListener.NONE);
            ContractWriter admin = new ContractWriter(rpc, Anvil.PRIVATE_KEY_0, Anvil.BASE_CHAIN_ID, Duration.ofSeconds(30));
            String contract = admin.deploy(ContractArtifact.bytecode(RealApiServer.repoRoot())).contractAddress();
            for (int i = 1; i <= PEERS; i++) {
                nodes.add(nodeId(i, NODE_ID_LENGTH));
                keys.add(WireGuardKey.generatePrivate().publicKey().toBase64());
            }
            bulkMint(anvil, rpc, contract);
            // From here on, blocks as on Base: one every BLOCK_TIME seconds, whether or not a transaction waits.
            anvil.rpc("evm_setAutomine", "[false]");
            anvil.rpc("evm_setIntervalMining", "[" + BLOCK_TIME + "]");

            KubernetesClient client = RealApiServer.get().client();
            client.resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build()).serverSideApply();
            startWatches(client);
            OperatorProcess operator = OperatorProcess.start(RealApiServer.get().kubeconfig(), NS);
            operators.add(operator);
            var rssSampler = Executors.newSingleThreadScheduledExecutor();
            OperatorProcess[] current = {operator};
            rssSampler.scheduleAtFixedRate(() -> peakRss.accumulateAndGet(current[0].rssKiB(), Math::max), 0, 250, TimeUnit.MILLISECONDS);
            try {
                long idleRss = operator.rssKiB();
                line("operator pid %d, -Xmx256m (OperatorProcess), RSS after start %,d KiB", operator.pid(), idleRss);

                // The network first: its follower syncs the 5,000 tokens while no VpnPeer exists yet.
                long netAt = System.nanoTime();
                LocalTime netClock = LocalTime.now();
                client.resource(TestResources.chainNetwork(NET, CIDR, anvil.rpcUrl(), contract, 1, POLL)).inNamespace(NS).create();
                awaitTrue(Duration.ofMinutes(2), () -> lastNetwork != null && isTrue(lastNetwork, Conditions.CHAIN_SYNCED));
                long syncedAt = System.nanoTime();
                awaitTrue(Duration.ofMinutes(2), () -> lastNetwork != null && isTrue(lastNetwork, Conditions.CHAIN_SYNCED)
                        && isTrue(lastNetwork, Conditions.READY));
                line("network created → ChainSynced=True on the watch (%,d tokens, first sync from block 0): %.2f s; "
                        + "operator log \"chain follower in sync\" %s after the create", PEERS, secs(netAt, syncedAt),
                        logDelay(operator, netClock, "chain follower in sync"));
                line("network created, chain synced (%,d tokens) and Ready with no peers: %.2f s", PEERS, secs(netAt, System.nanoTime()));

                Window load;
                if ("online".equals(LOAD)) {
                    long t0 = System.nanoTime();
                    double created = createPeers(client);
                    load = awaitLoad(t0, created);
                } else {
                    operator.stop();
                    double created = createPeers(client);
                    long t0 = System.nanoTime();
                    LocalTime launchClock = LocalTime.now();
                    operator = OperatorProcess.start(RealApiServer.get().kubeconfig(), NS);
                    operators.add(operator);
                    current[0] = operator;
                    line("operator started with %,d VpnPeers waiting (created in %.1f s while it was stopped): ready after %.1f s",
                            PEERS, created, secs(t0, System.nanoTime()));
                    load = awaitLoad(t0, secs(t0, System.nanoTime()));
                    coldChainSync = "launch → operator log \"chain follower in sync\": " + logDelay(operator, launchClock, "chain follower in sync")
                            + "; launch → \"resumed from checkpoint\": " + logDelay(operator, launchClock, "resumed from checkpoint");
                    line("cold start chain sync: %s", coldChainSync);
                }
                long loadRss = operator.rssKiB();
                long loadPeak = Math.max(loadRss, peakRss.get());
                Window steady = steadyState();
                long steadyRss = operator.rssKiB();
                Changes changes = changes(anvil, rpc, contract);
                long changesRss = operator.rssKiB();
                String metrics = reconcileMetrics(operator);
                Stored stored = stored(client);
                List<Double> floor = applyFloor(client, stored.largestShard);

                VpnNetwork n = client.resources(VpnNetwork.class).inNamespace(NS).withName(NET).get();
                line("");
                line("## Peer set after the run: generation %d, %d peers, %d shards, %,d bytes in all (status.peerSet: %,d bytes, %s shards), condition PeerSetRendered=%s",
                        n.getStatus().peerSet.generation, n.getStatus().peerSet.peers, stored.shards, stored.totalBytes,
                        n.getStatus().peerSet.bytes, n.getStatus().peerSet.shards, isTrue(n, Conditions.PEER_SET_RENDERED));
                line("peer-set objects (peers.json + allocations.json; index.json): largest shard %s %,d bytes (%.1f%% of the %,d-byte per-object guard), "
                        + "smallest shard %,d bytes, index %,d bytes, peers per shard %d..%d",
                        stored.largestShard, stored.largestShardBytes, 100.0 * stored.largestShardBytes / GUARD, GUARD, stored.smallestShardBytes,
                        stored.indexBytes, stored.minPeers, stored.maxPeers);
                line("network reconcile timer (dstack_vpn_network_reconcile_seconds) over the run: %s", metrics);

                Restart restart = null;
                if (RESTART) {
                    operator.stop();
                    long t = System.nanoTime();
                    operator = OperatorProcess.start(RealApiServer.get().kubeconfig(), NS);
                    operators.add(operator);
                    current[0] = operator;
                    long ready = System.nanoTime();
                    Thread.sleep(STEADY_SECONDS * 1000L);
                    long end = System.nanoTime();
                    restart = new Restart(secs(t, ready), window(t, end), operator.rssKiB());
                }

                line("");
                line("## Results (%s, %,d peers in one VpnNetwork, chain access source: anvil, %d s blocks, follower poll %s, grantConfirmations 1)",
                        LocalDate.now(), PEERS, BLOCK_TIME, POLL);
                line("");
                line("| what | p50 | p99 (max) | min | samples |");
                line("|---|---|---|---|---|");
                row("change-to-rendered, revoke: block with the revoke → the node's shard without the node (watch)", changes.revokeToSet);
                row("change-to-rendered, grant: block with the mint → the node's shard with the node (watch)", changes.grantToSet);
                row("change-to-rendered, both", concat(changes.revokeToSet, changes.grantToSet));
                row("revoke or grant: block → index `<net>-peerset` at the new generation (watch)", changes.toIndex);
                row("revoke: block → VpnPeer status Revoked", changes.revokeToPhase);
                row("grant: block → VpnPeer status Active", changes.grantToPhase);
                row("revoke or grant: transaction sent → the node's shard", changes.sendToSet);
                row("for scale: server-side apply of a copy of the largest shard (" + String.format(Locale.ROOT, "%,d", stored.largestShardBytes)
                        + " bytes) by the benchmark (API server + etcd round trip)", floor);
                line("");
                line("| phase | duration | VpnPeer status writes | VpnNetwork status writes | peer-set shard writes | peer-set index writes | other ConfigMap writes | Events created |");
                line("|---|---|---|---|---|---|---|---|");
                windowRow("initial load of " + String.format(Locale.ROOT, "%,d", PEERS) + ("online".equals(LOAD)
                        ? " created while the operator runs (first create → all Active, addressed, rendered)"
                        : " waiting at operator start (launch → all Active, addressed, rendered)"), load);
                windowRow("steady state, no change (" + BLOCK_TIME + " s blocks)", steady);
                windowRow("change phase (" + (2 * CHANGES) + " changes, pauses between)", changes.window);
                line("per change: %.2f VpnPeer, %.2f VpnNetwork, %.2f peer-set shard writes, %.2f peer-set index writes, %.2f Events",
                        changes.window.count("VpnPeer") / (2.0 * CHANGES), changes.window.count("VpnNetwork") / (2.0 * CHANGES),
                        changes.window.count(SHARD) / (2.0 * CHANGES), changes.window.count(INDEX) / (2.0 * CHANGES),
                        changes.window.count("Event") / (2.0 * CHANGES));
                if (restart != null) {
                    windowRow("operator restart with everything in place (" + STEADY_SECONDS + " s after ready; ready after "
                            + String.format(Locale.ROOT, "%.1f", restart.readySeconds) + " s)", restart.window);
                }
                line("");
                line("| operator RSS (VmRSS) | KiB | MiB |");
                line("|---|---|---|");
                rssRow("after start, no network", idleRss);
                if (!"online".equals(LOAD)) {
                    line("| (cold load: the operator measured from here on was started with the %,d VpnPeers waiting) | | |", PEERS);
                }
                rssRow("after the initial load", loadRss);
                rssRow("peak during the initial load", loadPeak);
                rssRow("after " + STEADY_SECONDS + " s steady state", steadyRss);
                rssRow("after the change phase", changesRss);
                if (restart != null) {
                    rssRow("restarted operator, " + STEADY_SECONDS + " s after ready", restart.rss);
                }
                rssRow("peak over the whole run", peakRss.get());
                line("");
                line("initial load (%s): %s after %.1f s; all %,d Active after %.1f s; all addressed after %.1f s; "
                        + "peer set with all %,d rendered (index + every listed shard, %d shards, assembled) after %.1f s", LOAD,
                        "online".equals(LOAD) ? "all created" : "operator ready",
                        load.createdSeconds, PEERS, load.activeSeconds, load.addressedSeconds, PEERS, renderedShards, load.renderedSeconds);
                line("initial load chain sync: %s", coldChainSync);
                rssSampler.shutdownNow();
            } finally {
                rssSampler.shutdownNow();
                operator.close();
                watches.forEach(Watch::close);
                saveLogs();
            }
        } finally {
            machine("after");
            line("total benchmark time %.0f s", secs(started, System.nanoTime()));
            Path out = Path.of("target", "operator-scale-benchmark.txt");
            Files.createDirectories(out.getParent());
            Files.writeString(out, report);
        }
    }

    // --- peer-set size: computed for four peer shapes, laid out in shards as the operator does ---

    void peerSetSizes() {
        line("");
        line("## Peer-set size at %,d peers, computed with PeerSetSharder (shard target %,d bytes; guard %,d bytes per object)", PEERS,
                PeerSetSharder.Limits.DEFAULT.shardTargetBytes(), GUARD);
        line("| peer shape | as one object (peers.json + allocations.json) | shards | largest shard | all objects |");
        line("|---|---|---|---|---|");
        sizeRow("node id `node-00001` (10 chars), no endpoint", 10, false);
        sizeRow("node id 10 chars, IPv4 endpoint `10.0.x.y:51820` (the agent's default: NODE_IP:51820)", 10, true);
        sizeRow("node id 40 chars (a typical cloud node name), IPv4 endpoint", 40, true);
        sizeRow("node id 63 chars (the maximum), IPv4 endpoint", 63, true);
        line("(the run below: node ids of %d chars, IPv4 endpoints)", Math.max(NODE_ID_LENGTH, nodeId(PEERS, 0).length()));
    }

    void sizeRow(String shape, int idLength, boolean endpoint) {
        List<PeerSet.Peer> peers = new ArrayList<>();
        Map<String, String> alloc = new TreeMap<>();
        Map<String, String> holders = new TreeMap<>();
        for (int i = 1; i <= PEERS; i++) {
            String id = nodeId(i, idLength);
            String address = "10.96." + (i / 256) + "." + (i % 256);
            peers.add(new PeerSet.Peer(id, WireGuardKey.generatePrivate().publicKey().toBase64(), address,
                    endpoint ? "10.0." + (i / 250) + "." + (i % 250 + 1) + ":51820" : null, "UDP", null));
            alloc.put(id, address);
            holders.put(id, id);
        }
        peers.sort((a, b) -> a.nodeId().compareTo(b.nodeId()));
        PeerSet set = new PeerSet(NET, 1, CIDR, 51820, 1420, "Mesh", null, null, peers);
        int whole = PeerSetCodec.encode(set).getBytes(StandardCharsets.UTF_8).length
                + PeerSetCodec.encodeAllocations(alloc).getBytes(StandardCharsets.UTF_8).length;
        PeerSetLayout layout = PeerSetSharder.layout(set, holders, alloc, null, PeerSetSharder.Limits.DEFAULT);
        line("| %s | %,d (%.1f%% of the guard) | %d | %,d (%.1f%% of the guard) | %,d |", shape, whole, 100.0 * whole / GUARD,
                layout.shards().size(), layout.largestObjectBytes(), 100.0 * layout.largestObjectBytes() / GUARD, layout.bytes());
    }

    /** {@code node-00001}, padded in front with {@code x} up to {@code length} (a DNS-1123 label, also the VpnPeer name). */
    static String nodeId(int i, int length) {
        String id = String.format(Locale.ROOT, "node-%05d", i);
        if (length > 63) {
            throw new IllegalArgumentException("a node id has at most 63 characters, not " + length);
        }
        return id.length() >= length ? id : "x".repeat(length - id.length()) + id;
    }

    /** The peer-set objects as stored now, read through the API. */
    record Stored(int shards, String largestShard, int largestShardBytes, int smallestShardBytes, int indexBytes, long totalBytes,
            int minPeers, int maxPeers) {
    }

    Stored stored(KubernetesClient client) {
        List<ConfigMap> items = client.configMaps().inNamespace(NS).withLabel(VpnLabels.NETWORK, NET)
                .withLabel(VpnLabels.COMPONENT, VpnLabels.COMPONENT_PEERSET).list().getItems();
        StoredPeerSet set = StoredPeerSet.from(NET, items, (name, message) -> line("WARNING: %s unreadable: %s", name, message))
                .orElseThrow(() -> new IllegalStateException("no readable peer set stored"));
        Map<String, ConfigMap> byName = new TreeMap<>();
        items.forEach(cm -> byName.put(cm.getMetadata().getName(), cm));
        int indexBytes = utf8(byName.get(PeerSetCodec.configMapName(NET)).getData().get(PeerSetCodec.INDEX_KEY));
        long total = indexBytes;
        String largest = null;
        int largestBytes = 0;
        int smallestBytes = Integer.MAX_VALUE;
        int minPeers = Integer.MAX_VALUE;
        int maxPeers = 0;
        for (PeerSetIndex.ShardRef ref : set.index().shards()) {
            Map<String, String> data = byName.get(ref.name()).getData();
            int bytes = utf8(data.get(PeerSetCodec.PEERS_KEY)) + utf8(data.get(PeerSetCodec.ALLOCATIONS_KEY));
            total += bytes;
            if (bytes > largestBytes) {
                largestBytes = bytes;
                largest = ref.name();
            }
            smallestBytes = Math.min(smallestBytes, bytes);
            minPeers = Math.min(minPeers, ref.peers());
            maxPeers = Math.max(maxPeers, ref.peers());
        }
        if (byName.size() != set.index().shards().size() + 1) {
            line("WARNING: %d peer-set objects stored for an index listing %d shards: %s", byName.size(), set.index().shards().size(), byName.keySet());
        }
        return new Stored(set.index().shards().size(), largest, largestBytes, smallestBytes, indexBytes, total, minPeers, maxPeers);
    }

    static int utf8(String s) {
        return s == null ? 0 : s.getBytes(StandardCharsets.UTF_8).length;
    }

    /**
     * How long after {@code since} (wall clock) the operator logged the first line containing {@code needle}, from its
     * log's {@code HH:mm:ss.SSS} timestamps; waits up to 10 s for the line.
     */
    static String logDelay(OperatorProcess operator, LocalTime since, String needle) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (true) {
            for (String l : operator.log().split("\n")) {
                if (l.contains(needle) && l.length() > 12) {
                    try {
                        LocalTime at = LocalTime.parse(l.substring(0, 12));
                        return String.format(Locale.ROOT, "%.2f s (%s)", Duration.between(since, at).toMillis() / 1000.0,
                                l.substring(l.indexOf(']') + 1).strip());
                    } catch (DateTimeParseException e) {
                        // not a timestamped line
                    }
                }
            }
            if (System.nanoTime() > deadline) {
                return "not logged";
            }
            Thread.sleep(100);
        }
    }

    /** Copies each operator's log into target/ (they live in temp files). */
    void saveLogs() {
        for (int i = 0; i < operators.size(); i++) {
            Path out = Path.of("target", "operator-scale-operator-" + (i + 1) + ".log");
            try {
                Files.createDirectories(out.getParent());
                Files.writeString(out, operators.get(i).log());
            } catch (IOException e) {
                line("WARNING: could not save the log of operator %d: %s", i + 1, e.getMessage());
            }
        }
        line("operator logs: operator/target/operator-scale-operator-{1..%d}.log", operators.size());
    }

    // --- chain setup: bulk mint (automine off, raw transactions with increasing nonces, one block per batch) ---

    void bulkMint(Anvil anvil, RpcClient rpc, String contract) throws IOException {
        long t0 = System.nanoTime();
        Credentials owner = Credentials.create(Anvil.PRIVATE_KEY_0);
        String from = owner.getAddress();
        BigInteger nonce = Numeric.decodeQuantity(rpc.call("eth_getTransactionCount", from, "pending").asText());
        BigInteger gas = Numeric.decodeQuantity(rpc.call("eth_estimateGas", Map.of("from", from, "to", contract,
                "data", AccessContract.mintNodeAccess(Anvil.ACCOUNT_1, nodes.get(0), keys.get(0), ""))).asText());
        gas = gas.multiply(BigInteger.valueOf(3)).divide(BigInteger.TWO);
        BigInteger gasPrice = Numeric.decodeQuantity(rpc.call("eth_gasPrice").asText()).multiply(BigInteger.valueOf(4));
        anvil.rpc("evm_setAutomine", "[false]");
        try {
            for (int from0 = 0; from0 < PEERS; from0 += MINTS_PER_BLOCK) {
                int to0 = Math.min(PEERS, from0 + MINTS_PER_BLOCK);
                List<RpcCall> sends = new ArrayList<>();
                for (int i = from0; i < to0; i++) {
                    RawTransaction tx = RawTransaction.createTransaction(nonce.add(BigInteger.valueOf(i)), gasPrice, gas, contract,
                            BigInteger.ZERO, AccessContract.mintNodeAccess(Anvil.ACCOUNT_1, nodes.get(i), keys.get(i), ""));
                    sends.add(RpcCall.of("eth_sendRawTransaction", Numeric.toHexString(TransactionEncoder.signMessage(tx, Anvil.BASE_CHAIN_ID, owner))));
                }
                for (RpcResult r : rpc.batchResults(sends)) {
                    if (r.error() != null) {
                        throw new IllegalStateException("eth_sendRawTransaction failed: " + r.error());
                    }
                }
                anvil.rpc("anvil_mine", "[\"0x1\"]");
            }
            BigInteger want = nonce.add(BigInteger.valueOf(PEERS));
            for (int extra = 0; Numeric.decodeQuantity(rpc.call("eth_getTransactionCount", from, "latest").asText()).compareTo(want) < 0; extra++) {
                assertThat(extra).as("blocks to drain the pool").isLessThan(1000);
                anvil.rpc("anvil_mine", "[\"0x1\"]");
            }
        } finally {
            anvil.rpc("evm_setAutomine", "[true]");
        }
        BigInteger supply = AccessContract.decodeUint(rpc.call("eth_call", Map.of("to", contract, "data", "0x18160ddd"), "latest").asText());
        assertThat(supply.intValue()).as("totalSupply after the bulk mint").isEqualTo(PEERS);
        line("bulk mint of %,d tokens: %.1f s (head at block %d)", PEERS, secs(t0, System.nanoTime()),
                AccessContract.hexLong(rpc.call("eth_blockNumber").asText()));
    }

    // --- watches: every event is one new resourceVersion of the object ---

    void startWatches(KubernetesClient client) {
        watches.add(client.resources(VpnPeer.class).inNamespace(NS).watch(new Counting<>("VpnPeer") {
            @Override
            void seen(Action action, VpnPeer p, long at) {
                String name = p.getMetadata().getName();
                VpnPeerPhase now = p.getStatus() == null ? null : p.getStatus().phase;
                VpnPeerPhase was = now == null ? phases.get(name) : phases.put(name, now);
                if (now != null && now != was) {
                    phaseAt.putIfAbsent(name + "/" + now, at);
                    if (now == VpnPeerPhase.Active && active.incrementAndGet() == PEERS && allActiveAt == 0) {
                        allActiveAt = at;
                    } else if (was == VpnPeerPhase.Active) {
                        active.decrementAndGet();
                    }
                }
                String address = p.getStatus() == null ? null : p.getStatus().address;
                if (address != null && addresses.put(name, address) == null && addressed.incrementAndGet() == PEERS && allAddressedAt == 0) {
                    allAddressedAt = at;
                }
            }
        }));
        watches.add(client.resources(VpnNetwork.class).inNamespace(NS).watch(new Counting<>("VpnNetwork") {
            @Override
            void seen(Action action, VpnNetwork n, long at) {
                lastNetwork = n;
            }
        }));
        watches.add(client.configMaps().inNamespace(NS).withLabel(VpnLabels.NETWORK, NET).watch(new Counting<>(null) {
            @Override
            String kindOf(ConfigMap cm) {
                if (!VpnLabels.COMPONENT_PEERSET.equals(cm.getMetadata().getLabels().get(VpnLabels.COMPONENT))) {
                    return "ConfigMap";
                }
                return PeerSetCodec.configMapName(NET).equals(cm.getMetadata().getName()) ? INDEX : SHARD;
            }

            @Override
            void seen(Action action, ConfigMap cm, long at) {
                String kind = kindOf(cm);
                String name = cm.getMetadata().getName();
                if (action == Action.DELETED) {
                    latestShards.remove(name);
                    return;
                }
                if ("ConfigMap".equals(kind) || cm.getData() == null) {
                    return;
                }
                try {
                    if (INDEX.equals(kind)) {
                        String json = cm.getData().get(PeerSetCodec.INDEX_KEY);
                        if (json == null) {
                            line("WARNING: %s without %s (legacy single object?)", name, PeerSetCodec.INDEX_KEY);
                            return;
                        }
                        PeerSetIndex index = PeerSetCodec.decodeIndex(json);
                        latestIndex = index;
                        if (keepPeerSets) {
                            indexEvents.add(new IndexEv(at, index.generation()));
                        }
                    } else {
                        PeerSetShard shard = StoredPeerSet.decodeShard(cm);
                        latestShards.put(name, shard);
                        if (keepPeerSets) {
                            shardEvents.add(new ShardEv(at, name, shard));
                        }
                    }
                } catch (IllegalArgumentException e) {
                    line("WARNING: %s unreadable: %s", name, e.getMessage());
                    return;
                }
                assembled(at);
            }
        }));
        watches.add(client.v1().events().inNamespace(NS).watch(new Counting<Event>("Event")));
    }

    /** The whole set as an agent would assemble it from the latest index and shards; rendered = complete with every peer. */
    void assembled(long at) {
        PeerSetIndex index = latestIndex;
        if (index == null) {
            return;
        }
        StoredPeerSet set = new StoredPeerSet(index, null, Map.of(), Map.of()).withShards(latestShards);
        long count = set.shards().values().stream().mapToLong(s -> s.peers().size()).sum();
        lastPeerSetCount = count;
        if (set.complete() && count == PEERS && renderedAt == 0) {
            renderedAt = at;
            renderedShards = index.shards().size();
        }
    }

    /** Records every event's arrival, before any work on it. */
    class Counting<T extends HasMetadata> implements Watcher<T> {
        final String kind;

        Counting(String kind) {
            this.kind = kind;
        }

        String kindOf(T resource) {
            return kind;
        }

        void seen(Action action, T resource, long at) {
        }

        @Override
        public void eventReceived(Action action, T resource) {
            long at = System.nanoTime();
            events.add(new Ev(at, kindOf(resource), action.name()));
            seen(action, resource, at);
        }

        @Override
        public void onClose(WatcherException cause) {
            line("WARNING: the %s watch closed (%s): counts after this are incomplete", kind, cause.getMessage());
        }
    }

    // --- phases ---

    record Window(long from, long to, Map<String, Long> writes, double createdSeconds, double activeSeconds, double addressedSeconds,
            double renderedSeconds) {
        long count(String kind) {
            return writes.getOrDefault(kind, 0L);
        }

        double seconds() {
            return (to - from) / 1e9;
        }
    }

    /** Writes by the operator in [from, to]: MODIFIED events (and ADDED for ConfigMaps and Events, which it creates). */
    Window window(long from, long to) {
        Map<String, Long> w = new TreeMap<>();
        for (Ev e : events) {
            if (e.at >= from && e.at <= to && ("MODIFIED".equals(e.action)
                    || ("ADDED".equals(e.action) && !"VpnPeer".equals(e.kind) && !"VpnNetwork".equals(e.kind)))) {
                w.merge(e.kind, 1L, Long::sum);
            }
        }
        return new Window(from, to, w, 0, 0, 0, 0);
    }

    /** Creates the VpnPeers as agents would (node id, key, IPv4 endpoint); returns the seconds it took. */
    double createPeers(KubernetesClient client) throws Exception {
        long t0 = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(CREATE_THREADS);
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < CREATE_THREADS; t++) {
            int first = t;
            done.add(pool.submit(() -> {
                for (int i = first; i < PEERS; i += CREATE_THREADS) {
                    VpnPeer p = TestResources.peer(nodes.get(i), NET, nodes.get(i), keys.get(i));
                    p.getSpec().endpoint = "10.0." + ((i + 1) / 250) + "." + ((i + 1) % 250 + 1) + ":51820";
                    client.resource(p).inNamespace(NS).create();
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
        line("all %,d VpnPeers created in %.1f s (%d threads)", PEERS, secs(t0, System.nanoTime()), CREATE_THREADS);
        return secs(t0, System.nanoTime());
    }

    /** Waits until every peer is Active, addressed and in the peer set; the window starts at t0. */
    Window awaitLoad(long t0, double startedSeconds) throws Exception {
        long lastReport = System.nanoTime();
        long deadline = t0 + Duration.ofMinutes(10).toNanos();
        while (allActiveAt == 0 || renderedAt == 0 || allAddressedAt == 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(String.format(Locale.ROOT, "initial load not done in 10 min: %d Active, %d addressed, %d in the peer set",
                        active.get(), addressed.get(), lastPeerSetCount));
            }
            if (System.nanoTime() - lastReport > 10_000_000_000L) {
                lastReport = System.nanoTime();
                System.out.printf(Locale.ROOT, "  … %.0f s: %d Active, %d addressed, %d in the peer set, RSS %,d KiB%n", secs(t0, lastReport),
                        active.get(), addressed.get(), lastPeerSetCount, peakRss.get());
            }
            Thread.sleep(20);
        }
        long end = Math.max(allActiveAt, Math.max(renderedAt, allAddressedAt));
        Window w = window(t0, end);
        return new Window(t0, end, w.writes, startedSeconds, secs(t0, allActiveAt), secs(t0, allAddressedAt), secs(t0, renderedAt));
    }

    Window steadyState() throws InterruptedException {
        Thread.sleep(2000); // let the last writes of the load land outside the window
        long from = System.nanoTime();
        Thread.sleep(STEADY_SECONDS * 1000L);
        return window(from, System.nanoTime());
    }

    record Changes(List<Double> revokeToSet, List<Double> grantToSet, List<Double> toIndex, List<Double> revokeToPhase,
            List<Double> grantToPhase, List<Double> sendToSet, Window window) {
    }

    record Restart(double readySeconds, Window window, long rss) {
    }

    Changes changes(Anvil anvil, RpcClient rpc, String contract) throws Exception {
        Credentials owner = Credentials.create(Anvil.PRIVATE_KEY_0);
        List<Double> revokeToSet = new ArrayList<>();
        List<Double> grantToSet = new ArrayList<>();
        List<Double> revokeToPhase = new ArrayList<>();
        List<Double> grantToPhase = new ArrayList<>();
        List<Double> sendToSet = new ArrayList<>();
        List<Double> toIndex = new ArrayList<>();
        keepPeerSets = true;
        long from = System.nanoTime();
        for (int k = 0; k < CHANGES; k++) {
            // Spread over the network (not the first few node ids only).
            int index = (int) (((long) k * PEERS / CHANGES + 7) % PEERS);
            String node = nodes.get(index);
            BigInteger token = AccessContract.decodeUint(rpc.call("eth_call", Map.of("to", contract,
                    "data", AccessContract.getTokenIdByNodeId(node)), "latest").asText());

            double[] r = timedChange(anvil, rpc, owner, contract, AccessContract.revokeNodeAccess(token), node, VpnPeerPhase.Revoked, false);
            revokeToSet.add(r[0]);
            revokeToPhase.add(r[1]);
            sendToSet.add(r[2]);
            toIndex.add(r[3]);
            double[] g = timedChange(anvil, rpc, owner, contract, AccessContract.mintNodeAccess(Anvil.ACCOUNT_1, node, keys.get(index), ""),
                    node, VpnPeerPhase.Active, true);
            grantToSet.add(g[0]);
            grantToPhase.add(g[1]);
            sendToSet.add(g[2]);
            toIndex.add(g[3]);
            System.out.printf(Locale.ROOT, "  change %d/%d (%s…, shard %s): revoke %.0f ms, grant %.0f ms (block → shard); index %.0f / %.0f ms%n",
                    k + 1, CHANGES, node.substring(Math.max(0, node.length() - 10)), shardNameOf(node), r[0], g[0], r[3], g[3]);
        }
        keepPeerSets = false;
        Thread.sleep(1000); // the last status writes
        return new Changes(revokeToSet, grantToSet, toIndex, revokeToPhase, grantToPhase, sendToSet, window(from, System.nanoTime()));
    }

    /** The node's shard in the current layout. */
    String shardNameOf(String node) {
        PeerSetIndex index = latestIndex;
        int of = index == null ? 1 : Math.max(1, index.shards().size());
        return PeerSetShards.shardName(NET, PeerSetShards.shardOf(node, of), of);
    }

    /**
     * @param present whether the change puts the node in the peer set (grant) or takes it out (revoke)
     * @return ms from block to the node's shard showing the change, block to phase, send to shard, block to the index at
     *         that shard's generation
     */
    double[] timedChange(Anvil anvil, RpcClient rpc, Credentials owner, String contract, String data, String node, VpnPeerPhase want,
            boolean present) throws Exception {
        // A random pause: the transaction lands at a random phase of the block interval and of the follower's poll.
        Thread.sleep(1000 + ThreadLocalRandom.current().nextLong(2000));
        BigInteger nonce = Numeric.decodeQuantity(rpc.call("eth_getTransactionCount", owner.getAddress(), "pending").asText());
        BigInteger gas = Numeric.decodeQuantity(rpc.call("eth_estimateGas", Map.of("from", owner.getAddress(), "to", contract, "data", data)).asText());
        BigInteger gasPrice = Numeric.decodeQuantity(rpc.call("eth_gasPrice").asText()).multiply(BigInteger.TWO);
        RawTransaction tx = RawTransaction.createTransaction(nonce, gasPrice, gas.multiply(BigInteger.valueOf(3)).divide(BigInteger.TWO), contract,
                BigInteger.ZERO, data);
        String signed = Numeric.toHexString(TransactionEncoder.signMessage(tx, Anvil.BASE_CHAIN_ID, owner));
        phaseAt.remove(node + "/" + want);
        shardEvents.clear();
        indexEvents.clear();
        long sent = System.nanoTime();
        String hash = rpc.call("eth_sendRawTransaction", signed).asText();
        long mined = 0;
        long deadline = sent + Duration.ofSeconds(30).toNanos();
        while (mined == 0) {
            JsonNode receipt = rpc.call("eth_getTransactionReceipt", hash);
            if (receipt != null && !receipt.isNull()) {
                mined = System.nanoTime();
                assertThat(receipt.path("status").asText()).as("transaction status of " + hash).isEqualTo("0x1");
            } else if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no receipt for " + hash);
            } else {
                Thread.sleep(2);
            }
        }
        long setAt = 0;
        long generation = 0;
        long indexAt = 0;
        Long phase = null;
        while ((setAt == 0 || indexAt == 0 || phase == null) && System.nanoTime() < deadline) {
            if (setAt == 0) {
                // The first event of the node's shard (in whatever layout it arrives) that shows the change.
                for (ShardEv e : shardEvents) {
                    PeerSetShard shard = e.shard;
                    if (shard.shard() == PeerSetShards.shardOf(node, shard.of())
                            && shard.peers().stream().anyMatch(p -> node.equals(p.nodeId())) == present) {
                        setAt = e.at;
                        generation = shard.generation();
                        break;
                    }
                }
            }
            if (setAt != 0 && indexAt == 0) {
                for (IndexEv e : indexEvents) {
                    if (e.generation >= generation) {
                        indexAt = e.at;
                        break;
                    }
                }
            }
            phase = phaseAt.get(node + "/" + want);
            Thread.sleep(2);
        }
        if (setAt == 0 || indexAt == 0 || phase == null) {
            throw new IllegalStateException(String.format(Locale.ROOT, "%s: within 30 s: shard %s %s, index at generation %d %s, phase %s %s",
                    node, present ? "with the node" : "without the node", setAt == 0 ? "not seen" : "seen", generation,
                    indexAt == 0 ? "not seen" : "seen", want, phase == null ? "not seen" : "seen"));
        }
        return new double[] {(setAt - mined) / 1e6, (phase - mined) / 1e6, (setAt - sent) / 1e6, (indexAt - mined) / 1e6};
    }

    /**
     * What one write of a one-peer change costs by itself: server-side apply of a copy of the largest shard (its
     * peers.json and allocations.json, one character changed each time) from the benchmark's client.
     */
    List<Double> applyFloor(KubernetesClient client, String shardName) {
        ConfigMap stored = client.configMaps().inNamespace(NS).withName(shardName).get();
        List<Double> ms = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            ConfigMap probe = new io.fabric8.kubernetes.api.model.ConfigMapBuilder()
                    .withNewMetadata().withName("bench-apply-probe").withNamespace(NS).endMetadata()
                    .withData(Map.of(PeerSetCodec.PEERS_KEY, stored.getData().get(PeerSetCodec.PEERS_KEY) + " ".repeat(i % 2),
                            PeerSetCodec.ALLOCATIONS_KEY, stored.getData().get(PeerSetCodec.ALLOCATIONS_KEY)))
                    .build();
            long t = System.nanoTime();
            client.resource(probe).fieldManager("bench").forceConflicts().serverSideApply();
            ms.add((System.nanoTime() - t) / 1e6);
        }
        client.configMaps().inNamespace(NS).withName("bench-apply-probe").delete();
        return ms;
    }

    // --- helpers ---

    String reconcileMetrics(OperatorProcess operator) throws Exception {
        String body = operator.get("/q/metrics");
        Map<String, String> m = new TreeMap<>();
        for (String l : body.split("\n")) {
            if (l.startsWith("dstack_vpn_network_reconcile_seconds")) {
                String[] parts = l.split(" ");
                m.put(parts[0].replace("dstack_vpn_network_reconcile_seconds", "").replaceAll("\\{.*}", ""), parts[parts.length - 1]);
            }
        }
        return m.isEmpty() ? "not exported" : String.format(Locale.ROOT, "count %s, total %s s, max %s s (max over the last minutes)",
                m.get("_count"), m.get("_sum"), m.get("_max"));
    }

    static boolean isTrue(VpnNetwork n, String type) {
        return n.getStatus() != null && n.getStatus().conditions != null
                && n.getStatus().conditions.stream().anyMatch(c -> type.equals(c.getType()) && "True".equals(c.getStatus()));
    }

    static void awaitTrue(Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("condition not met within " + timeout);
            }
            Thread.sleep(20);
        }
    }

    static double secs(long from, long to) {
        return (to - from) / 1e9;
    }

    static List<Double> concat(List<Double> a, List<Double> b) {
        List<Double> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    void row(String what, List<Double> ms) {
        List<Double> s = new ArrayList<>(ms);
        Collections.sort(s);
        double p50 = s.get(s.size() / 2);
        double p99 = s.get(Math.min(s.size() - 1, (int) Math.ceil(s.size() * 0.99) - 1));
        line("| %s | %.0f ms | %.0f ms | %.0f ms | %d |", what, p50, p99, s.get(0), s.size());
    }

    void windowRow(String what, Window w) {
        double sec = w.seconds();
        line("| %s | %.1f s | %d (%.1f/s) | %d (%.1f/s) | %d | %d | %d | %d (%.1f/s) |", what, sec,
                w.count("VpnPeer"), w.count("VpnPeer") / sec, w.count("VpnNetwork"), w.count("VpnNetwork") / sec,
                w.count(SHARD), w.count(INDEX), w.count("ConfigMap"), w.count("Event"), w.count("Event") / sec);
    }

    void rssRow(String what, long kib) {
        line("| %s | %,d | %.0f |", what, kib, kib / 1024.0);
    }

    void machine(String when) {
        String mem = "?";
        try {
            for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (l.startsWith("MemTotal:")) {
                    mem = String.format(Locale.ROOT, "%.0f GiB", Long.parseLong(l.replaceAll("\\D", "")) / 1024.0 / 1024.0);
                }
            }
            line("machine (%s): %d cores, %s, %s, load average %s", when, Runtime.getRuntime().availableProcessors(), mem,
                    System.getProperty("java.vm.name") + " " + System.getProperty("java.version"), Files.readString(Path.of("/proc/loadavg")).trim());
        } catch (IOException e) {
            line("machine (%s): unknown (%s)", when, e.getMessage());
        }
    }

    synchronized void line(String format, Object... args) {
        String l = String.format(Locale.ROOT, format, args);
        System.out.println(l);
        report.append(l).append('\n');
    }
}
