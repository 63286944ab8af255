package io.dstack.vpn.agent;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.dstack.vpn.agent.device.MemoryDevice;
import io.dstack.vpn.agent.device.UapiDevice;
import io.dstack.vpn.agent.device.WgToolsDevice;
import io.dstack.vpn.agent.device.WireGuardDevice;
import io.dstack.vpn.agent.node.InterfaceSetup;
import io.dstack.vpn.agent.node.KeyStore;
import io.dstack.vpn.agent.node.KubernetesNode;
import io.dstack.vpn.agent.node.WireGuardGoSupervisor;
import io.dstack.vpn.api.peerset.DesiredPeer;
import io.dstack.vpn.agent.peers.PeerDiff;
import io.dstack.vpn.agent.proxy.NodeProxyProcess;
import io.dstack.vpn.agent.proxy.ProxyRouting;
import io.dstack.vpn.api.peerset.PeerSetView;
import io.dstack.vpn.agent.uapi.DeviceState;
import io.dstack.vpn.agent.uapi.UapiClient;
import io.dstack.vpn.api.VpnLabels;
import io.dstack.vpn.api.peerset.PeerSet;
import io.dstack.vpn.api.peerset.PeerSetCodec;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;

/**
 * The node agent: holds the node's key, publishes its VpnPeer, watches the network's peer set through the
 * API and applies it to WireGuard as per-peer changes, and reports what it applied. Applies run on one
 * thread, so a burst of peer-set updates collapses into the newest.
 */
public final class Agent implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Agent.class);

    private final AgentConfig config;
    private final KubernetesClient client;
    private final WireGuardDevice device;
    private final InterfaceSetup interfaceSetup;
    private final StatusReporter status;
    private final ScheduledExecutorService worker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "agent-apply");
        t.setDaemon(true);
        return t;
    });
    private final AgentMetrics metrics = new AgentMetrics();
    private final AtomicLong pendingVersion = new AtomicLong();
    private volatile PeerSet latest;
    private SharedIndexInformer<ConfigMap> informer;
    private AgentHttp http;
    private WireGuardKey key;
    private volatile String lastOwnAddress;
    /** What the device holds, as far as the agent knows; null = ask the device. Touched on the worker thread only. */
    private DeviceModel known;
    private WireGuardGoSupervisor supervisor;
    /** TCP transport through the node proxy; touched on the worker thread only. */
    private final ProxyRouting proxyRouting;

    /** Ties the VpnPeer to this node's Node object (garbage collection); null outside Kubernetes. */
    private final OwnerReference nodeOwner;

    public Agent(AgentConfig config, KubernetesClient client) {
        this(config, client, null);
    }

    public Agent(AgentConfig config, KubernetesClient client, OwnerReference nodeOwner) {
        this.config = config;
        this.client = client;
        this.nodeOwner = nodeOwner;
        this.device = switch (config.backend()) {
            case "wgtools" -> new WgToolsDevice(config.iface(), config.commandPrefix());
            case AgentConfig.MEMORY_BACKEND -> new MemoryDevice();
            default -> new UapiDevice(new UapiClient(config.uapiSocket()));
        };
        // The memory backend (scale tests) has no interface: no ip commands either.
        this.interfaceSetup = config.memoryBackend() ? null : new InterfaceSetup(config.iface(), config.commandPrefix());
        this.status = new StatusReporter(client, config);
        this.proxyRouting = new ProxyRouting(config.nodeId(), NodeProxyProcess.launcher(config.commandPrefix()));
    }

    public static void main(String[] args) throws Exception {
        KubernetesClient client = new KubernetesClientBuilder().build();
        Optional<Node> node = KubernetesNode.read(client, System.getenv("NODE_NAME"));
        AgentConfig config = AgentConfig.fromEnv(System.getenv(), label -> KubernetesNode.label(node, label));
        Agent agent = new Agent(config, client, node.map(KubernetesNode::ownerReference).orElse(null));
        Runtime.getRuntime().addShutdownHook(new Thread(agent::close, "agent-shutdown"));
        try {
            agent.start();
        } catch (Exception e) {
            // Exit rather than linger half-started (the HTTP server would keep the JVM alive, never Ready):
            // the kubelet restarts the container with its back-off.
            LOG.error("the agent could not start: {}", e.toString());
            System.exit(1);
        }
        Thread.currentThread().join();
    }

    public void start() throws IOException {
        key = new KeyStore(config.keyDir()).loadOrCreate();
        String publicKey = key.publicKey().toBase64();
        LOG.info("node {} uses public key {} (private key in {})", config.nodeId(), publicKey, config.keyDir());
        publishPeer(publicKey);
        http = AgentHttp.start(config.httpBind(), config.httpPort(), metrics, () -> latest != null);
        if (config.startWireGuardGo()) {
            supervisor = new WireGuardGoSupervisor(config.iface(), config.uapiSocket(), config.commandPrefix(), () -> {
                lastOwnAddress = null; // a new device: address, key and every peer again
                worker.execute(() -> {
                    known = null;
                    reconfigureAndApply();
                });
            });
            supervisor.ensureRunning();
        }
        DeviceState state = device.state();
        if (!publicKey.equals(state.publicKeyOfPrivate())) {
            device.configure(key, 51820);
        }
        informer = client.configMaps().inNamespace(config.namespace())
                .withName(PeerSetCodec.configMapName(config.network()))
                .inform(new ResourceEventHandler<>() {
                    @Override
                    public void onAdd(ConfigMap cm) {
                        received(cm);
                    }

                    @Override
                    public void onUpdate(ConfigMap old, ConfigMap cm) {
                        received(cm);
                    }

                    @Override
                    public void onDelete(ConfigMap cm, boolean unknown) {
                        // Keep the last applied peers: a lost ConfigMap is re-rendered by the operator.
                    }
                });
        worker.scheduleWithFixedDelay(this::reportStats, config.statsSeconds(), config.statsSeconds(), TimeUnit.SECONDS);
    }

    /** Creates or updates this node's VpnPeer spec (server-side apply: only the fields the agent owns). */
    private void publishPeer(String publicKey) {
        VpnPeer peer = new VpnPeer();
        peer.setMetadata(new io.fabric8.kubernetes.api.model.ObjectMetaBuilder().withName(config.peerName())
                .withNamespace(config.namespace()).addToLabels(VpnLabels.NETWORK, config.network()).build());
        if (nodeOwner != null) {
            peer.getMetadata().setOwnerReferences(List.of(nodeOwner));
        }
        peer.setSpec(new io.dstack.vpn.api.v1alpha1.VpnPeerSpec());
        peer.getSpec().network = config.network();
        peer.getSpec().nodeId = config.nodeId();
        peer.getSpec().publicKey = publicKey;
        peer.getSpec().endpoint = config.endpoint();
        peer.getSpec().nodeName = config.nodeName();
        peer.getSpec().transport = io.dstack.vpn.api.v1alpha1.VpnPeerSpec.Transport.valueOf(config.transport());
        client.resource(peer).inNamespace(config.namespace())
                .patch(new PatchContext.Builder().withPatchType(PatchType.SERVER_SIDE_APPLY)
                        .withFieldManager(VpnLabels.FIELD_MANAGER_AGENT).withForce(true).build());
    }

    private void received(ConfigMap cm) {
        if (cm.getData() == null || cm.getData().get(PeerSetCodec.PEERS_KEY) == null) {
            return;
        }
        try {
            latest = PeerSetCodec.decode(cm.getData().get(PeerSetCodec.PEERS_KEY));
        } catch (IllegalArgumentException e) {
            LOG.warn("ignoring an unreadable peer set: {}", e.getMessage());
            return;
        }
        long version = pendingVersion.incrementAndGet();
        worker.execute(() -> {
            if (version == pendingVersion.get()) {
                applyLatest();
            }
        });
    }

    private void reconfigureAndApply() {
        try {
            device.configure(key, latest == null ? 51820 : latest.listenPort());
        } catch (IOException e) {
            LOG.warn("could not configure the restarted device: {}", e.getMessage());
        }
        applyLatest();
    }

    /** Diff and apply the newest peer set; report the generation at once. */
    void applyLatest() {
        PeerSet set = latest;
        if (set == null) {
            return;
        }
        long start = System.nanoTime();
        try {
            String own = set.peers().stream().filter(p -> p.nodeId().equals(config.nodeId())).map(PeerSet.Peer::address)
                    .findFirst().orElse(null);
            if ((lastOwnAddress == null || !lastOwnAddress.equals(own)) && interfaceSetup != null) {
                interfaceSetup.apply(own, set.cidr(), set.mtu());
                lastOwnAddress = own;
            }
            List<DesiredPeer> desired = proxyRouting.route(set, resolveEndpoints(PeerSetView.desiredFor(set, config.nodeId())));
            if (known == null) {
                known = new DeviceModel(device.state()); // first apply, or after an error: ask the device
            }
            if (known.listenPort() != set.listenPort()) {
                device.configure(key, set.listenPort());
                known.listenPort(set.listenPort());
            }
            // Diff against what we know the device holds: a one-peer change costs one small UAPI set, not a
            // read of every peer (the stats loop re-reads the device and catches drift).
            List<PeerDiff.Change> changes = PeerDiff.compute(desired, known.peers());
            device.apply(changes);
            known.applied(changes);
            long nanos = System.nanoTime() - start;
            metrics.applied(set.generation(), desired.size(), changes.size(), nanos);
            metrics.tunnels(proxyRouting.tunnelCount());
            LOG.info("applied peer set generation {}: {} peers, {} changes in {} ms", set.generation(), desired.size(), changes.size(),
                    nanos / 1_000_000);
            status.report(set.generation(), desired.size(), null, null);
        } catch (IOException | RuntimeException e) {
            known = null;
            metrics.failed();
            LOG.warn("applying peer set generation {} failed: {}", set.generation(), e.getMessage());
            try {
                // Report what is really applied (the last good generation), with the failure as the condition.
                status.report(metrics.appliedGeneration(), 0, null, "applying generation " + set.generation() + " failed: " + e.getMessage());
            } catch (RuntimeException reportFailed) {
                LOG.warn("could not report the failure: {}", reportFailed.getMessage());
            }
            worker.schedule(this::applyLatest, 5, TimeUnit.SECONDS);
        }
    }

    private void reportStats() {
        PeerSet set = latest;
        if (set == null || metrics.appliedGeneration() != set.generation()) {
            return;
        }
        try {
            DeviceState state = device.state();
            if (known != null && !known.matches(state)) {
                LOG.warn("{} differs from what the agent applied (changed outside the agent?); re-applying", config.iface());
                known = new DeviceModel(state);
                applyLatest();
            }
            metrics.peers(state.peers().size());
            status.report(set.generation(), state.peers().size(), state, null);
        } catch (IOException | RuntimeException e) {
            LOG.debug("stats report failed: {}", e.getMessage());
        }
    }

    /** The device wants ip:port: resolve DNS names now; an unresolvable one is left out (that peer dials in). */
    private static List<DesiredPeer> resolveEndpoints(List<DesiredPeer> peers) {
        List<DesiredPeer> out = new ArrayList<>(peers.size());
        for (DesiredPeer p : peers) {
            String endpoint = p.endpoint();
            if (endpoint != null && !endpoint.startsWith("[") && !Character.isDigit(endpoint.charAt(0))) {
                int colon = endpoint.lastIndexOf(':');
                try {
                    endpoint = InetAddress.getByName(endpoint.substring(0, colon)).getHostAddress() + endpoint.substring(colon);
                } catch (UnknownHostException e) {
                    LOG.warn("cannot resolve the endpoint of {} ({}); the peer is configured without one", p.nodeId(), endpoint);
                    endpoint = null;
                }
            }
            out.add(new DesiredPeer(p.nodeId(), p.publicKey(), endpoint, p.allowedIps(), p.keepalive()));
        }
        return out;
    }

    /** The device this agent drives (benchmarks read the memory backend's removal times through it). */
    public WireGuardDevice device() {
        return device;
    }

    /** Stops watching and reporting; leaves the interface and its peers in place, so traffic goes on. */
    @Override
    public void close() {
        if (informer != null) {
            informer.close();
        }
        worker.shutdownNow();
        try {
            worker.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        proxyRouting.close(); // the proxy would end with our stdin anyway; this is quicker
        if (supervisor != null) {
            supervisor.close();
        }
        if (http != null) {
            http.stop();
        }
        client.close();
        LOG.info("agent stopped; {} keeps its configuration", config.iface());
    }
}
