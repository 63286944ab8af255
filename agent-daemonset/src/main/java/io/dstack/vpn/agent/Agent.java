package io.dstack.vpn.agent;

import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.dstack.vpn.agent.device.MemoryDevice;
import io.dstack.vpn.agent.device.UapiDevice;
import io.dstack.vpn.agent.device.WgToolsDevice;
import io.dstack.vpn.agent.device.WireGuardDevice;
import io.dstack.vpn.agent.dns.AgentDns;
import io.dstack.vpn.agent.node.InterfaceSetup;
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
 * The node agent's main and wiring: holds the node's key, publishes its VpnPeer ({@link PeerPublisher}),
 * watches the network's peer set ({@link PeerSetWatcher}), applies it to WireGuard ({@link PeerSetApplier})
 * and checks the device for drift ({@link DriftMonitor}). All device work runs on one thread, the apply
 * thread, so no two applies overlap.
 */
public final class Agent implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Agent.class);

    private final AgentConfig config;
    private final KubernetesClient client;
    private final WireGuardDevice device;
    private final PeerPublisher publisher;
    private final StatusReporter status;
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
        this.config = config;
        this.client = client;
        this.device = switch (config.backend()) {
            case "wgtools" -> new WgToolsDevice(config.iface(), config.commandPrefix());
            case AgentConfig.MEMORY_BACKEND -> new MemoryDevice();
            default -> new UapiDevice(new UapiClient(config.uapiSocket()));
        };
        this.publisher = new PeerPublisher(client, config, nodeOwner);
        this.status = new StatusReporter(client, config);
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
        WireGuardKey key = new KeyStore(config.keyDir()).loadOrCreate();
        String publicKey = key.publicKey().toBase64();
        LOG.info("node {} uses public key {} (private key in {})", config.nodeId(), publicKey, config.keyDir());
        publisher.publish(publicKey);
        watcher = new PeerSetWatcher(config.network(), applyThread, () -> applier.applyLatest());
        // The memory backend (scale tests) has no interface: no ip commands either.
        InterfaceSetup interfaceSetup = config.memoryBackend() ? null : new InterfaceSetup(config.iface(), config.commandPrefix());
        ProxyRouting proxyRouting = new ProxyRouting(config.nodeId(), config.nodeProxyInProcess()
                ? InProcessNodeProxy.launcher(metrics::proxy) : NodeProxyProcess.launcher(config.commandPrefix()));
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
        watcher.start(client, config);
        DriftMonitor drift = new DriftMonitor(device, applier, status, metrics, watcher::latest);
        applyThread.scheduleWithFixedDelay(drift, config.statsSeconds(), config.statsSeconds(), TimeUnit.SECONDS);
        // A TCP node's tunnels tell when a peer's proxy restarted; renew that session without waiting minutes.
        applyThread.scheduleWithFixedDelay(applier::renewRedialedSessions, RENEW_CHECK_SECONDS, RENEW_CHECK_SECONDS, TimeUnit.SECONDS);
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
        status.close();
        client.close();
        LOG.info("agent stopped; {} keeps its configuration", config.iface());
    }
}
