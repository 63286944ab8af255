package io.dstack.vpn.agent;

import java.io.IOException;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.dstack.vpn.agent.device.MemoryDevice;
import io.dstack.vpn.agent.device.UapiDevice;
import io.dstack.vpn.agent.device.WgToolsDevice;
import io.dstack.vpn.agent.device.WireGuardDevice;
import io.dstack.vpn.agent.dns.AgentDns;
import io.dstack.vpn.agent.node.InterfaceSetup;
import io.dstack.vpn.agent.nodeapi.NodeApiClient;
import io.dstack.vpn.agent.nodeapi.NodeApiMain;
import io.dstack.vpn.agent.node.KeyStore;
import io.dstack.vpn.agent.node.KubernetesNode;
import io.dstack.vpn.agent.node.WireGuardGoSupervisor;
import io.dstack.vpn.agent.peers.EndpointResolver;
import io.dstack.vpn.agent.proxy.InProcessNodeProxy;
import io.dstack.vpn.agent.proxy.NodeProxyProcess;
import io.dstack.vpn.agent.proxy.ProxyRouting;
import io.dstack.vpn.agent.uapi.UapiClient;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;

/**
 * The node agent's main and wiring: holds the node's key, announces it and learns the network's peer set through
 * its {@link ControlPlane} (the API server in a cluster, the node API outside), keeps the newest complete set
 * ({@link PeerSetWatcher}), applies it to WireGuard ({@link PeerSetApplier})
 * and checks the device for drift ({@link DriftMonitor}). All device work runs on one thread, the apply
 * thread, so no two applies overlap.
 */
public final class Agent implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Agent.class);

    private final AgentConfig config;
    /** The control plane for this node's key: made in {@link #start()}, after the key is loaded. */
    private final Function<WireGuardKey, ControlPlane> controlPlaneFor;
    private final WireGuardDevice device;
    private ControlPlane controlPlane;
    private StatusReporter status;
    /** How often a TCP node asks its proxy whether a tunnel dialled again (a cheap local request). */
    static final long RENEW_CHECK_SECONDS = 2;
    private final AgentMetrics metrics = new AgentMetrics();
    private final ScheduledExecutorService applyThread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "agent-apply");
        t.setDaemon(true);
        return t;
    });
    private PeerSetWatcher watcher;
    private PeerSetApplier applier;
    private AgentHttp http;
    private WireGuardGoSupervisor supervisor;
    private AgentDns dns;

    public Agent(AgentConfig config, KubernetesClient client) {
        this(config, client, null);
    }

    /** @param nodeOwner ties the VpnPeer to this node's Node object (garbage collection); null outside Kubernetes */
    public Agent(AgentConfig config, KubernetesClient client, OwnerReference nodeOwner) {
        this(config, key -> new KubernetesControlPlane(client, config, nodeOwner));
    }

    Agent(AgentConfig config, Function<WireGuardKey, ControlPlane> controlPlaneFor) {
        this.config = config;
        this.controlPlaneFor = controlPlaneFor;
        this.device = switch (config.backend()) {
            case "wgtools" -> new WgToolsDevice(config.iface(), config.commandPrefix());
            case AgentConfig.MEMORY_BACKEND -> new MemoryDevice();
            default -> new UapiDevice(new UapiClient(config.uapiSocket()));
        };
    }

    /**
     * One image, three entry points by {@code AGENT_MODE}: the DaemonSet's agent (default), a standalone node outside
     * Kubernetes ({@code standalone}), and the node API that serves standalone nodes ({@code node-api}, ADR 0015).
     */
    public static void main(String[] args) throws Exception {
        if (args.length == 1 && args[0].equals("keygen")) {
            // `docker run -v <key volume>:/var/lib/dstack-vpn <image> keygen`: make (or keep) the node's key before
            // its first start, and print only its public half, for `dstack-vpn node-bundle --public-key`.
            WireGuardKey key = new KeyStore(java.nio.file.Path.of(System.getenv().getOrDefault("KEY_DIR", "/var/lib/dstack-vpn"))).loadOrCreate();
            System.out.println(key.publicKey().toBase64());
            return;
        }
        String mode = System.getenv().getOrDefault("AGENT_MODE", "daemonset");
        if (mode.equals("node-api")) {
            NodeApiMain.main(args);
            return;
        }
        Agent agent;
        try {
            agent = mode.equals(AgentConfig.MODE_STANDALONE) ? standalone(System.getenv()) : inCluster();
        } catch (IllegalArgumentException e) {
            LOG.error("bad configuration: {}", e.getMessage());
            System.exit(2);
            return;
        }
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

    private static Agent inCluster() {
        KubernetesClient client = new KubernetesClientBuilder().build();
        Optional<Node> node = KubernetesNode.read(client, System.getenv("NODE_NAME"));
        AgentConfig config = AgentConfig.fromEnv(System.getenv(), label -> KubernetesNode.label(node, label));
        return new Agent(config, client, node.map(KubernetesNode::ownerReference).orElse(null));
    }

    /** A node outside Kubernetes: no client, no service account; the node API authenticates its WireGuard key. */
    public static Agent standalone(Map<String, String> env) {
        AgentConfig config = AgentConfig.fromEnv(env);
        AgentConfig.Standalone api = config.standalone();
        Agent[] agent = new Agent[1];
        agent[0] = new Agent(config, key -> new NodeApiControlPlane(new NodeApiClient(api.url(), WireGuardKey.parse(api.serverKey()),
                config.namespace(), config.network(), config.nodeId(), key), key.publicKey().toBase64(), () -> agent[0].readmitted()));
        return agent[0];
    }

    public void start() throws IOException {
        WireGuardKey key = new KeyStore(config.keyDir()).loadOrCreate();
        String publicKey = key.publicKey().toBase64();
        LOG.info("node {} uses public key {} (private key in {})", config.nodeId(), publicKey, config.keyDir());
        controlPlane = controlPlaneFor.apply(key);
        status = new StatusReporter(controlPlane.statusWriter(), config);
        controlPlane.publish(publicKey);
        watcher = new PeerSetWatcher(config.network(), applyThread, () -> applier.applyLatest());
        // The memory backend (scale tests) has no interface: no ip commands either.
        InterfaceSetup interfaceSetup = config.memoryBackend() ? null : new InterfaceSetup(config.iface(), config.commandPrefix());
        ProxyRouting proxyRouting = new ProxyRouting(config.nodeId(), config.nodeProxyInProcess()
                ? InProcessNodeProxy.launcher(metrics::proxy, config.endpoint() != null) : NodeProxyProcess.launcher(config.commandPrefix()));
        applier = new PeerSetApplier(config, device, interfaceSetup, proxyRouting, new EndpointResolver(EndpointResolver.SYSTEM),
                status, metrics, applyThread, watcher::latest, key);
        http = AgentHttp.start(config.httpBind(), config.httpPort(), metrics, () -> watcher.latest() != null);
        dns = AgentDns.start(config.dns(), config.network(), config.commandPrefix(), watcher::latest, metrics::dns);
        if (config.startWireGuardGo()) {
            supervisor = new WireGuardGoSupervisor(config.iface(), config.uapiSocket(), config.commandPrefix(),
                    () -> applyThread.execute(applier::deviceReplaced));
            supervisor.ensureRunning();
        }
        if (!publicKey.equals(device.state().publicKeyOfPrivate())) {
            device.configure(key, PeerSetApplier.DEFAULT_LISTEN_PORT);
        }
        controlPlane.watch(watcher);
        DriftMonitor drift = new DriftMonitor(device, applier, status, metrics, watcher::latest);
        applyThread.scheduleWithFixedDelay(drift, config.statsSeconds(), config.statsSeconds(), TimeUnit.SECONDS);
        // A TCP node's tunnels tell when a peer's proxy restarted; renew that session without waiting minutes.
        applyThread.scheduleWithFixedDelay(applier::renewRedialedSessions, RENEW_CHECK_SECONDS, RENEW_CHECK_SECONDS, TimeUnit.SECONDS);
    }

    /** Back in the peer set after being out of it: renew the tunnel sessions, on the apply thread, after the set's apply. */
    private void readmitted() {
        applyThread.execute(() -> {
            if (applier != null) {
                applier.renewTunnelSessions();
            }
        });
    }

    /** The device this agent drives (benchmarks read the memory backend's removal times through it). */
    public WireGuardDevice device() {
        return device;
    }

    /** Stops watching and reporting; leaves the interface and its peers in place, so traffic goes on. */
    @Override
    public void close() {
        if (watcher != null) {
            watcher.close();
        }
        applyThread.shutdownNow();
        try {
            applyThread.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (applier != null) {
            applier.close();
        }
        if (supervisor != null) {
            supervisor.close();
        }
        if (http != null) {
            http.stop();
        }
        if (dns != null) {
            dns.close();
        }
        if (status != null) {
            status.close();
        }
        if (controlPlane != null) {
            controlPlane.close();
        }
        LOG.info("agent stopped; {} keeps its configuration", config.iface());
    }
}
