package io.dstack.vpn.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.agent.device.UapiDevice;
import io.dstack.vpn.agent.peers.EndpointResolver;
import io.dstack.vpn.agent.peers.PeerDiff;
import io.dstack.vpn.agent.proxy.ProxyRouting;
import io.dstack.vpn.agent.uapi.UapiClient;
import io.dstack.vpn.api.peerset.DesiredPeer;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.peerset.PeerSetIndex;
import io.dstack.vpn.api.peerset.PeerSetShard;
import io.dstack.vpn.api.peerset.PeerSetShards;
import io.dstack.vpn.api.peerset.PeerSetView;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.testing.SimulatedNetwork;
import io.dstack.vpn.testing.SimulatedNode;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;

/**
 * A one-peer change on a wireguard-go interface with 1,000 and 5,000 peers: the full diff against the agent's
 * device model plus one UAPI set, beside {@code wg syncconf} of the full config, in one run; a full apply of 1,000
 * peers; and at 10,000 peers in 32 shards the agent's sharded path (watcher and applier: decode the changed shard,
 * diff its peers, one UAPI set) beside {@code wg syncconf}. Not a CI test: run hack/bench-agent.sh. Endpoints are addresses of the test's own
 * namespace subnet that no one answers; nothing is sent without traffic for the peers.
 */
class ApplyBenchmark {
    static final int SAMPLES = Integer.getInteger("bench.samples", 30);

    @Test
    void onePeerChange() throws Exception {
        try (SimulatedNetwork net = new SimulatedNetwork()) {
            SimulatedNode node = net.addNode("bench");
            node.startWireGuard("wg0");
            Path socket = node.uapiSocket("wg0");
            UapiDevice device = new UapiDevice(new UapiClient(socket));
            WireGuardKey own = WireGuardKey.generatePrivate();
            device.configure(own, 51820);
            List<DesiredPeer> peers = new ArrayList<>();
            for (int i = 0; i < 5000; i++) {
                peers.add(new DesiredPeer("n" + i, WireGuardKey.generatePrivate().publicKey().toBase64(),
                        "10.254.200." + (1 + i % 250) + ":" + (20000 + i), List.of("10.88." + (i / 250) + "." + (1 + i % 250) + "/32"), 0));
            }
            System.out.printf(Locale.ROOT, "machine: %d cores, JDK %s%n", Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"));

            List<Double> full = new ArrayList<>();
            for (int r = 0; r < 5; r++) {
                DeviceModel empty = new DeviceModel(device.state());
                List<PeerDiff.Change> removeAll = PeerDiff.compute(List.of(), empty.peers());
                device.apply(removeAll);
                DeviceModel model = new DeviceModel(device.state());
                long t = System.nanoTime();
                List<PeerDiff.Change> add = PeerDiff.compute(peers.subList(0, 1000), model.peers());
                device.apply(add);
                full.add((System.nanoTime() - t) / 1e6);
            }
            print("full apply of 1,000 peers (agent: diff + one UAPI set)", full);

            for (int n : new int[] {1000, 5000}) {
                device.apply(PeerDiff.compute(List.of(), device.state().peers()));
                List<DesiredPeer> desired = new ArrayList<>(peers.subList(0, n));
                device.apply(PeerDiff.compute(desired, device.state().peers()));
                assertThat(device.state().peers()).hasSize(n);
                DeviceModel model = new DeviceModel(device.state());
                // Warm-up: a long-running agent has its diff compiled by the JIT; the first applies after a
                // start are slower (see the full-apply row).
                for (int w = 0; w < 300; w++) {
                    int idx = w % n;
                    DesiredPeer p = desired.get(idx);
                    desired.set(idx, new DesiredPeer(p.nodeId(), p.publicKey(), "10.254.203." + (1 + w % 250) + ":" + (50000 + w),
                            p.allowedIps(), p.keepalive()));
                    List<PeerDiff.Change> changes = PeerDiff.compute(desired, model.peers());
                    device.apply(changes);
                    model.applied(changes);
                }
                List<Double> ours = new ArrayList<>();
                List<Double> diffOnly = new ArrayList<>();
                List<Double> syncconf = new ArrayList<>();
                Path conf = Files.createTempFile("wg-bench", ".conf", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                try {
                    for (int s = 0; s < SAMPLES; s++) {
                        int idx = s % n;
                        DesiredPeer p = desired.get(idx);
                        desired.set(idx, new DesiredPeer(p.nodeId(), p.publicKey(), "10.254.201." + (1 + s % 250) + ":" + (30000 + s),
                                p.allowedIps(), p.keepalive()));
                        long t = System.nanoTime();
                        List<PeerDiff.Change> changes = PeerDiff.compute(desired, model.peers());
                        diffOnly.add((System.nanoTime() - t) / 1e6);
                        device.apply(changes);
                        model.applied(changes);
                        ours.add((System.nanoTime() - t) / 1e6);
                        assertThat(changes).hasSize(1);

                        // The same one-peer change through wg syncconf of the full configuration.
                        DesiredPeer q = desired.get(idx);
                        desired.set(idx, new DesiredPeer(q.nodeId(), q.publicKey(), "10.254.202." + (1 + s % 250) + ":" + (40000 + s),
                                q.allowedIps(), q.keepalive()));
                        Files.writeString(conf, config(own, desired));
                        t = System.nanoTime();
                        syncconf(socket, conf);
                        syncconf.add((System.nanoTime() - t) / 1e6);
                        model = new DeviceModel(device.state());
                    }
                } finally {
                    Files.deleteIfExists(conf);
                }
                print(String.format(Locale.ROOT, "one-peer change at %,d peers: agent (diff vs model + one UAPI set)", n), ours);
                print(String.format(Locale.ROOT, "  of which the diff over all %,d desired peers", n), diffOnly);
                print(String.format(Locale.ROOT, "one-peer change at %,d peers: wg syncconf of the full config (process incl.)", n), syncconf);
            }
            shardedOnePeerChange(device, socket, own);
        }
    }

    static final int SHARDED_PEERS = 10_000;
    /** What the operator lays out for 10,000 peers with 63-character node ids (32 shards of ~92 KB, ADR 0002). */
    static final int SHARDS = Integer.getInteger("bench.shards", 32);
    static final int SHARDED_SAMPLES = Integer.getInteger("bench.shardedSamples", 1000);

    /**
     * The sharded path at 10,000 peers (63-character node ids, 32 shards of ~310 by default): the agent's watcher and applier
     * receive the one changed shard and then the index as the informer would hand them over (JSON in ConfigMaps);
     * each event is decoded and applied inline. The operator's encoding is not timed. Then {@code wg syncconf} of the
     * full config with the same kind of change.
     */
    void shardedOnePeerChange(UapiDevice device, Path socket, WireGuardKey own) throws Exception {
        device.apply(PeerDiff.compute(List.of(), device.state().peers()));
        java.util.Random random = new java.util.Random(1);
        List<PeerSet.Peer> peers = new ArrayList<>();
        for (int i = 0; i < SHARDED_PEERS; i++) {
            byte[] key = new byte[32];
            random.nextBytes(key);
            peers.add(new PeerSet.Peer(longId(i), java.util.Base64.getEncoder().encodeToString(key),
                    "10.88." + (i / 250) + "." + (1 + i % 250), "10.254.200." + (1 + i % 250) + ":" + (20000 + i % 40000), "UDP", 25));
        }
        String self = longId(0);
        peers.sort(java.util.Comparator.comparing(PeerSet.Peer::nodeId));
        PeerSet whole = new PeerSet("bench", 1, "10.88.0.0/16", 51820, 1420, "Mesh", null, null, peers);
        List<List<PeerSet.Peer>> split = PeerSetShards.split(peers, SHARDS);
        long[] shardGeneration = new long[SHARDS];
        java.util.Arrays.fill(shardGeneration, 1);

        AgentConfig config = AgentConfig.fromEnv(java.util.Map.of("NAMESPACE", "bench", "NETWORK", "bench", "NODE_ID", self,
                "UAPI_SOCKET", socket.toString()));
        java.util.concurrent.ScheduledExecutorService retries = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        PeerSetApplier[] applier = new PeerSetApplier[1];
        PeerSetWatcher watcher = new PeerSetWatcher("bench", Runnable::run, () -> applier[0].applyLatest());
        List<String> failures = new ArrayList<>();
        long[] uapiNanos = new long[1];
        io.dstack.vpn.agent.device.WireGuardDevice timed = new io.dstack.vpn.agent.device.WireGuardDevice() {
            @Override
            public void configure(WireGuardKey key, int port) throws java.io.IOException {
                device.configure(key, port);
            }

            @Override
            public io.dstack.vpn.agent.uapi.DeviceState state() throws java.io.IOException {
                return device.state();
            }

            @Override
            public void apply(List<PeerDiff.Change> changes) throws java.io.IOException {
                long t = System.nanoTime();
                device.apply(changes);
                uapiNanos[0] += System.nanoTime() - t;
            }
        };
        applier[0] = new PeerSetApplier(config, timed, null, new ProxyRouting(self, (tcp, wg) -> {
            throw new IllegalStateException("the benchmark's network has no proxy");
        }), new EndpointResolver(EndpointResolver.SYSTEM), (generation, count, state, error) -> {
            if (error != null) {
                failures.add(error);
            }
        }, new AgentMetrics(), retries, watcher::latest, own);
        try {
            long t = System.nanoTime();
            for (int k = 0; k < SHARDS; k++) {
                watcher.received(shardMap(k, 1, split.get(k)));
            }
            watcher.received(indexMap(whole, split, shardGeneration));
            double first = (System.nanoTime() - t) / 1e6;
            assertThat(failures).isEmpty();
            assertThat(device.state().peers()).hasSize(SHARDED_PEERS - 1);
            print(String.format(Locale.ROOT, "first apply of %,d peers in %d shards (decode all + full path + UAPI; cold JIT)", SHARDED_PEERS, SHARDS),
                    List.of(first));

            List<Double> shardEvent = new ArrayList<>();
            List<Double> both = new ArrayList<>();
            List<Double> decode = new ArrayList<>();
            List<Double> uapi = new ArrayList<>();
            int warmUp = 300;
            for (int s = 0; s < warmUp + SHARDED_SAMPLES; s++) {
                long generation = 2 + s;
                int idx = 1 + random.nextInt(SHARDED_PEERS - 1); // never our own entry
                PeerSet.Peer p = peers.get(idx);
                if (p.nodeId().equals(self)) {
                    continue;
                }
                PeerSet.Peer changed = new PeerSet.Peer(p.nodeId(), p.publicKey(), p.address(),
                        "10.254.201." + (1 + s % 250) + ":" + (30000 + s % 30000), p.transport(), p.keepalive());
                peers.set(idx, changed);
                int k = PeerSetShards.shardOf(p.nodeId(), SHARDS);
                List<PeerSet.Peer> shardPeers = split.get(k);
                shardPeers.set(shardPeers.indexOf(p), changed);
                shardGeneration[k] = generation;
                // The operator's side (not timed): the shard's and the index's JSON.
                ConfigMap shard = shardMap(k, generation, shardPeers);
                ConfigMap index = indexMap(whole.withGeneration(generation), split, shardGeneration);
                long before = applier[0].incrementalApplies();
                // The decoding alone, on a copy (the agent decodes the shard again below, as part of the event).
                long d0 = System.nanoTime();
                PeerSetCodec.decodeShard(shard.getData().get(PeerSetCodec.PEERS_KEY));
                long decodeNanos = System.nanoTime() - d0;
                uapiNanos[0] = 0;
                long t0 = System.nanoTime();
                watcher.received(shard);
                long t1 = System.nanoTime();
                watcher.received(index);
                long t2 = System.nanoTime();
                assertThat(applier[0].incrementalApplies()).as("both events take the incremental path").isEqualTo(before + 2);
                if (s >= warmUp) {
                    decode.add(decodeNanos / 1e6);
                    uapi.add(uapiNanos[0] / 1e6);
                    shardEvent.add((t1 - t0) / 1e6);
                    both.add((t2 - t0) / 1e6);
                }
            }
            assertThat(failures).isEmpty();
            assertThat(device.state().peers().values()).extracting(io.dstack.vpn.agent.uapi.PeerState::endpoint)
                    .containsAll(peers.stream().filter(p -> !p.nodeId().equals(self)).map(PeerSet.Peer::endpoint).toList());
            print(String.format(Locale.ROOT, "one-peer change at %,d peers, sharded: agent, shard event (decode 1 of %d shards + incremental diff + one UAPI set)",
                    SHARDED_PEERS, SHARDS), shardEvent);
            print(String.format(Locale.ROOT, "  of which decoding the shard's JSON (~%,d peers)", SHARDED_PEERS / SHARDS), decode);
            print("  of which the UAPI set", uapi);
            print(String.format(Locale.ROOT, "one-peer change at %,d peers, sharded: agent, shard + index events", SHARDED_PEERS), both);

            List<DesiredPeer> desired = new ArrayList<>(PeerSetView.desiredFor(whole, self));
            List<Double> syncconf = new ArrayList<>();
            Path conf = Files.createTempFile("wg-bench", ".conf", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try {
                for (int s = 0; s < SAMPLES; s++) {
                    int idx = random.nextInt(desired.size());
                    DesiredPeer q = desired.get(idx);
                    desired.set(idx, new DesiredPeer(q.nodeId(), q.publicKey(), "10.254.202." + (1 + s % 250) + ":" + (40000 + s),
                            q.allowedIps(), q.keepalive()));
                    Files.writeString(conf, config(own, desired));
                    long tSync = System.nanoTime();
                    syncconf(socket, conf);
                    syncconf.add((System.nanoTime() - tSync) / 1e6);
                }
            } finally {
                Files.deleteIfExists(conf);
            }
            print(String.format(Locale.ROOT, "one-peer change at %,d peers: wg syncconf of the full config (process incl.)", SHARDED_PEERS), syncconf);
        } finally {
            retries.shutdownNow();
        }
    }

    /** A 63-character node id (the longest a DNS label allows), unique per i. */
    static String longId(int i) {
        String head = String.format(Locale.ROOT, "node-%05d-", i);
        return head + "x".repeat(63 - head.length());
    }

    static ConfigMap shardMap(int k, long generation, List<PeerSet.Peer> peers) {
        return new ConfigMapBuilder().withNewMetadata().withName(PeerSetShards.shardName("bench", k, SHARDS)).endMetadata()
                .addToData(PeerSetCodec.PEERS_KEY, PeerSetCodec.encodeShard(new PeerSetShard("bench", k, SHARDS, generation, List.copyOf(peers))))
                .build();
    }

    static ConfigMap indexMap(PeerSet set, List<List<PeerSet.Peer>> split, long[] shardGeneration) {
        List<PeerSetIndex.ShardRef> refs = new ArrayList<>();
        for (int k = 0; k < SHARDS; k++) {
            refs.add(new PeerSetIndex.ShardRef(PeerSetShards.shardName("bench", k, SHARDS), shardGeneration[k], split.get(k).size()));
        }
        return new ConfigMapBuilder().withNewMetadata().withName(PeerSetCodec.configMapName("bench")).endMetadata()
                .addToData(PeerSetCodec.INDEX_KEY, PeerSetCodec.encodeIndex(PeerSetIndex.of(set, refs))).build();
    }

    static void syncconf(Path socket, Path conf) throws Exception {
        Process wg = new ProcessBuilder("unshare", "--mount", "--propagation", "private", "sh", "-c",
                "mount --bind \"$0\" /var/run/wireguard && exec wg syncconf wg0 \"$1\"", socket.getParent().toString(), conf.toString())
                .redirectErrorStream(true).start();
        String out = new String(wg.getInputStream().readAllBytes());
        assertThat(wg.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(wg.exitValue()).as(out).isZero();
    }

    static String config(WireGuardKey own, List<DesiredPeer> peers) {
        StringBuilder sb = new StringBuilder("[Interface]\nPrivateKey = ").append(own.toBase64()).append("\nListenPort = 51820\n");
        for (DesiredPeer p : peers) {
            sb.append("\n[Peer]\nPublicKey = ").append(p.publicKey()).append("\nEndpoint = ").append(p.endpoint())
                    .append("\nAllowedIPs = ").append(String.join(",", p.allowedIps())).append('\n');
        }
        return sb.toString();
    }

    static void print(String what, List<Double> ms) {
        List<Double> s = new ArrayList<>(ms);
        Collections.sort(s);
        System.out.printf(Locale.ROOT, "| %s | %d | %.2f ms | %.2f ms |%n", what, s.size(), s.get(s.size() / 2),
                s.get(Math.min(s.size() - 1, (int) Math.ceil(s.size() * 0.99) - 1)));
    }
}
