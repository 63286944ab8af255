package io.dstack.vpn.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import io.dstack.vpn.agent.device.MemoryDevice;
import io.dstack.vpn.agent.peers.EndpointResolver;
import io.dstack.vpn.agent.proxy.NodeTunnels;
import io.dstack.vpn.agent.proxy.ProxyRouting;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetIndex;
import io.dstack.vpn.api.peerset.PeerSetShard;
import io.dstack.vpn.api.peerset.PeerSetShards;
import io.dstack.vpn.api.peerset.StoredPeerSet;
import io.dstack.vpn.api.wireguard.WireGuardKey;

/**
 * The incremental apply (only the peers of changed shards) must leave the device and the proxy's tunnels exactly as
 * the full apply over the whole set does. Two appliers follow the same random history of a sharded network; one may
 * take the incremental path, the other is made to take the full path every time; after each step their devices and
 * tunnels are compared.
 */
class PeerSetApplierTest {
    static final String SELF = "self";
    final ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void stop() {
        retries.shutdownNow();
    }

    /** A proxy that opens nothing: a tunnel's local port is a function of its id and target, the same for both appliers. */
    static final class FakeTunnels implements NodeTunnels {
        final Map<String, String> open = new TreeMap<>();

        @Override
        public int open(String id, String target) {
            open.put(id, target);
            return 40_000 + Math.floorMod((id + "|" + target).hashCode(), 20_000);
        }

        @Override
        public void close(String id) {
            open.remove(id);
        }

        @Override
        public boolean alive() {
            return true;
        }

        @Override
        public Map<String, Long> dials() {
            return Map.of();
        }

        @Override
        public void close() {
            open.clear();
        }
    }

    /** One agent under test: its device, tunnels and applier. */
    final class Node {
        final MemoryDevice device = new MemoryDevice();
        final List<FakeTunnels> proxies = new ArrayList<>();
        final AtomicReference<StoredPeerSet> latest = new AtomicReference<>();
        final List<String> failures = new ArrayList<>();
        final PeerSetApplier applier;

        Node(String selfTransport) {
            AgentConfig config = AgentConfig.fromEnv(Map.of("NAMESPACE", "ns", "NETWORK", "n", "NODE_ID", SELF,
                    "WG_BACKEND", "memory", "TRANSPORT", selfTransport));
            ProxyRouting routing = new ProxyRouting(SELF, (tcp, wg) -> {
                FakeTunnels t = new FakeTunnels();
                proxies.add(t);
                return t;
            });
            EndpointResolver resolver = new EndpointResolver(host -> {
                if (host.startsWith("bad")) {
                    throw new UnknownHostException(host);
                }
                return "198.51.100." + (1 + Math.floorMod(host.hashCode(), 250));
            });
            AppliedStatus status = (generation, peers, state, error) -> {
                if (error != null) {
                    failures.add(error);
                }
            };
            applier = new PeerSetApplier(config, device, null, routing, resolver, status, new AgentMetrics(), retries, latest::get,
                    WireGuardKey.generatePrivate());
        }

        Map<String, String> tunnels() {
            return proxies.isEmpty() || !proxies.getLast().alive() ? Map.of() : proxies.getLast().open;
        }
    }

    /** A network as the operator renders it: shards that did not change keep their object, changed ones get the new generation. */
    static final class Network {
        final Random random;
        long generation;
        int of = 4;
        PeerSet header;
        final TreeMap<String, PeerSet.Peer> peers = new TreeMap<>();
        Map<String, PeerSetShard> shards = new LinkedHashMap<>();
        int nextId;

        Network(Random random, String topology, List<String> hubs, Integer proxyPort) {
            this.random = random;
            header = new PeerSet("n", 0, "10.9.0.0/16", 51820, 1420, topology, hubs, proxyPort, List.of());
        }

        StoredPeerSet publish() {
            generation++;
            List<List<PeerSet.Peer>> split = PeerSetShards.split(new ArrayList<>(peers.values()), of);
            Map<String, PeerSetShard> next = new LinkedHashMap<>();
            List<PeerSetIndex.ShardRef> refs = new ArrayList<>();
            for (int k = 0; k < of; k++) {
                String name = PeerSetShards.shardName("n", k, of);
                PeerSetShard old = shards.get(name);
                PeerSetShard shard = old != null && old.peers().equals(split.get(k)) ? old
                        : new PeerSetShard("n", k, of, generation, List.copyOf(split.get(k)));
                next.put(name, shard);
                refs.add(new PeerSetIndex.ShardRef(name, shard.generation(), shard.peers().size()));
            }
            shards = next;
            PeerSetIndex index = PeerSetIndex.of(header.withGeneration(generation), refs);
            return new StoredPeerSet(index, null, Map.of(), Map.of()).withShards(next);
        }

        PeerSet.Peer randomPeer(String nodeId) {
            String[] endpoints = {"192.0.2." + random.nextInt(1, 250) + ":51820", "h-" + random.nextInt(5) + ".example:51820",
                "bad.example:51820", null, "[2001:db8::" + random.nextInt(1, 99) + "]:51820"};
            Integer[] keepalives = {null, 10, 25};
            return new PeerSet.Peer(nodeId, key(), "10.9." + random.nextInt(256) + "." + random.nextInt(1, 255),
                    endpoints[random.nextInt(endpoints.length)], random.nextInt(3) == 0 ? "TCP" : "UDP",
                    keepalives[random.nextInt(keepalives.length)]);
        }

        String key() {
            byte[] raw = new byte[32];
            random.nextBytes(raw);
            return Base64.getEncoder().encodeToString(raw);
        }

        String someOther() {
            List<String> ids = peers.keySet().stream().filter(id -> !id.equals(SELF)).toList();
            return ids.isEmpty() ? null : ids.get(random.nextInt(ids.size()));
        }

        /** One step of history: mostly a few peers of other nodes; sometimes our own entry, the header or the layout. */
        void step() {
            int r = random.nextInt(100);
            if (r < 4) {
                PeerSet.Peer self = peers.get(SELF);
                if (self == null) {
                    peers.put(SELF, new PeerSet.Peer(SELF, key(), "10.9.255.1", "192.0.2.254:51820", random.nextBoolean() ? "TCP" : "UDP", null));
                } else if (random.nextBoolean()) {
                    peers.remove(SELF); // revoked
                } else {
                    peers.put(SELF, new PeerSet.Peer(SELF, self.publicKey(), self.address(), self.endpoint(),
                            "TCP".equals(self.transport()) ? "UDP" : "TCP", self.keepalive()));
                }
            } else if (r < 8) {
                List<String> hubs = peers.keySet().stream().filter(id -> random.nextInt(8) == 0).toList();
                header = new PeerSet("n", 0, header.cidr(), header.listenPort() + (random.nextInt(4) == 0 ? 1 : 0), header.mtu(),
                        random.nextBoolean() ? "Mesh" : "HubAndSpoke", hubs.isEmpty() ? null : hubs,
                        random.nextBoolean() ? Integer.valueOf(8443) : null, List.of());
            } else if (r < 10) {
                of = of == 4 ? 8 : 4; // a reshard: every shard has a new name
            } else if (r < 12) {
                // A key moves from a leaving node to a new one in the same step.
                String gone = someOther();
                if (gone != null) {
                    PeerSet.Peer left = peers.remove(gone);
                    PeerSet.Peer fresh = randomPeer("node-" + nextId++);
                    peers.put(fresh.nodeId(), new PeerSet.Peer(fresh.nodeId(), left.publicKey(), fresh.address(), fresh.endpoint(),
                            fresh.transport(), fresh.keepalive()));
                }
            } else if (r < 14) {
                // Nothing changes: the same set again (a resync, or an index rewritten with the same shards).
            } else {
                int n = 1 + random.nextInt(3);
                for (int i = 0; i < n; i++) {
                    int what = random.nextInt(3);
                    String id = someOther();
                    if (what == 0 || id == null || peers.size() < 10) {
                        PeerSet.Peer p = randomPeer("node-" + nextId++);
                        peers.put(p.nodeId(), p);
                    } else if (what == 1) {
                        peers.remove(id);
                    } else {
                        PeerSet.Peer old = peers.get(id);
                        PeerSet.Peer p = randomPeer(id);
                        // Change one field at a time, mostly (the key, the endpoint, the transport, ...).
                        peers.put(id, switch (random.nextInt(5)) {
                            case 0 -> new PeerSet.Peer(id, p.publicKey(), old.address(), old.endpoint(), old.transport(), old.keepalive());
                            case 1 -> new PeerSet.Peer(id, old.publicKey(), old.address(), p.endpoint(), old.transport(), old.keepalive());
                            case 2 -> new PeerSet.Peer(id, old.publicKey(), old.address(), old.endpoint(), p.transport(), old.keepalive());
                            case 3 -> new PeerSet.Peer(id, old.publicKey(), old.address(), old.endpoint(), old.transport(), p.keepalive());
                            default -> p;
                        });
                    }
                }
            }
        }
    }

    static Stream<Arguments> networks() {
        return Stream.of(
                Arguments.of("mesh over UDP, no proxy", "Mesh", false, null, "UDP"),
                Arguments.of("mesh, proxy on, this node TCP", "Mesh", false, 8443, "TCP"),
                Arguments.of("mesh, proxy on, this node UDP with TCP peers", "Mesh", false, 8443, "UDP"),
                Arguments.of("hub-and-spoke, this node a spoke", "HubAndSpoke", false, null, "UDP"),
                Arguments.of("hub-and-spoke, this node a hub, proxy on, TCP", "HubAndSpoke", true, 8443, "TCP"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("networks")
    void theIncrementalApplyLeavesTheDeviceAsTheFullApplyDoes(String name, String topology, boolean selfIsHub, Integer proxyPort,
            String selfTransport) {
        for (long seed = 1; seed <= 8; seed++) {
            Random random = new Random(seed * 7919 + name.hashCode());
            Network net = new Network(random, topology, null, proxyPort);
            net.peers.put(SELF, new PeerSet.Peer(SELF, net.key(), "10.9.255.1", "192.0.2.254:51820", selfTransport, null));
            for (int i = 0; i < 30; i++) {
                PeerSet.Peer p = net.randomPeer("node-" + net.nextId++);
                net.peers.put(p.nodeId(), p);
            }
            if ("HubAndSpoke".equals(topology)) {
                List<String> hubs = selfIsHub ? List.of("node-3", SELF) : List.of("node-3", "node-7", "node-11");
                net.header = new PeerSet("n", 0, net.header.cidr(), 51820, 1420, topology, hubs, proxyPort, List.of());
            }
            Node incremental = new Node(selfTransport);
            Node full = new Node(selfTransport);
            for (int step = 0; step < 150; step++) {
                if (step > 0) {
                    net.step();
                }
                StoredPeerSet set = net.publish();
                incremental.latest.set(set);
                full.latest.set(set);
                incremental.applier.applyLatest();
                full.applier.forgetApplied();
                full.applier.applyLatest();
                String at = name + ", seed " + seed + ", step " + step;
                assertThat(incremental.failures).as(at).isEmpty();
                assertThat(full.failures).as(at).isEmpty();
                assertThat(incremental.device.state().peers()).as(at).isEqualTo(full.device.state().peers());
                assertThat(incremental.device.state().listenPort()).as(at).isEqualTo(full.device.state().listenPort());
                assertThat(incremental.tunnels()).as(at).isEqualTo(full.tunnels());
                assertThat(incremental.proxies.size()).as(at + ": proxies started").isEqualTo(full.proxies.size());
            }
            // The comparison means something only when the incremental path was taken, and most steps change only peers.
            assertThat(incremental.applier.incrementalApplies()).as(name + ", seed " + seed).isGreaterThan(90);
            assertThat(full.applier.incrementalApplies()).isZero();
            if (proxyPort != null && "TCP".equals(selfTransport)) {
                assertThat(incremental.proxies).as("a TCP node dials its peers").isNotEmpty();
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("networks")
    void aOnePeerChangeTouchesOnePeer(String name, String topology, boolean selfIsHub, Integer proxyPort, String selfTransport) {
        Random random = new Random(42);
        Network net = new Network(random, "Mesh", null, proxyPort);
        net.peers.put(SELF, new PeerSet.Peer(SELF, net.key(), "10.9.255.1", "192.0.2.254:51820", selfTransport, null));
        for (int i = 0; i < 200; i++) {
            PeerSet.Peer p = net.randomPeer("node-" + net.nextId++);
            net.peers.put(p.nodeId(), new PeerSet.Peer(p.nodeId(), p.publicKey(), p.address(), "192.0.2." + (1 + i % 250) + ":" + (20000 + i),
                    "UDP", 25));
        }
        Node node = new Node(selfTransport);
        node.latest.set(net.publish());
        node.applier.applyLatest();
        PeerSet.Peer p = net.peers.get("node-17");
        net.peers.put(p.nodeId(), new PeerSet.Peer(p.nodeId(), p.publicKey(), p.address(), "192.0.2.77:9999", "UDP", 25));
        StoredPeerSet next = net.publish();
        Map<String, PeerSetShard> before = new HashMap<>(node.latest.get().shards());
        assertThat(next.shards().entrySet().stream().filter(e -> e.getValue() != before.get(e.getKey()))).hasSize(1);
        node.latest.set(next);
        MemoryDevice device = node.device;
        Map<String, ?> stateBefore = device.state().peers();
        node.applier.applyLatest();
        assertThat(node.applier.incrementalApplies()).isEqualTo(1);
        long changedPeers = device.state().peers().entrySet().stream().filter(e -> !e.getValue().equals(stateBefore.get(e.getKey()))).count();
        assertThat(changedPeers).isEqualTo(1);
    }
}
