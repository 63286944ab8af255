package io.dstack.vpn.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.dstack.vpn.api.v1alpha1.VpnPeerSpec;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.chain.contract.ContractWriter;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * Everything a node outside Kubernetes needs, in one command (ADR 0015): a docker compose file with the agent image
 * pinned, its node.env (namespace, network, node id, the node API's URL and public key, TCP transport) and a
 * README. None of it is secret: the node makes its own key at first start. With {@code --public-key} (read from the
 * node's log, or from {@code keygen} on its volume) the same command also creates the node's VpnPeer and mints its
 * access NFT, after which the node is admitted and joins with nothing copied back to it.
 */
@Command(name = "node-bundle", description = {"Write a docker compose bundle for a node outside Kubernetes (a dstack CVM); with --public-key also "
        + "create its VpnPeer and mint its access NFT.", "Minting takes the owner key and chain settings as `register` does."})
class NodeBundleCommand implements Callable<Integer> {
    static final String FIELD_MANAGER = "dstack-vpn-cli";
    private static final String COMPOSE = "compose/docker-compose.yaml";
    private static final String IMAGE_PLACEHOLDER = "${DSTACK_VPN_IMAGE:-ghcr.io/dstack-vpn/agent:0.1.0}";

    @ParentCommand
    DstackVpn root;
    @Mixin
    WriteChainOptions chain;

    @Parameters(index = "0", paramLabel = "NODE_ID", description = "the node's id in the network (a DNS-1123 label)")
    String nodeId;

    @Option(names = "--out", required = true, description = "directory to write the bundle to (created if missing)")
    Path out;

    @Option(names = "--release", defaultValue = "dstack-vpn", description = "the Helm release of dstack-vpn (names its node API and agent)")
    String release;

    @Option(names = "--node-api-url", description = "where the node reaches the node API (default: its LoadBalancer address)")
    String nodeApiUrl;

    @Option(names = "--node-api-key", description = "the node API's public key (default: derived from its Secret, <release>-node-api-key)")
    String nodeApiKey;

    @Option(names = "--image", description = "the agent image, best pinned by digest (default: the agent DaemonSet's)")
    String image;

    @Option(names = "--public-key", description = "the node's WireGuard public key: also create its VpnPeer and mint its NFT")
    String publicKey;

    @Option(names = "--holder", description = "with --public-key: the address that will hold the token")
    String holder;

    @Override
    public Integer call() {
        Inputs.nodeId(nodeId);
        String network = chain.vpnNetwork;
        if (network == null) {
            throw new CliException(ExitCodes.USAGE, "give --vpn-network: the VpnNetwork the node joins");
        }
        if (publicKey != null) {
            Inputs.publicKey(publicKey);
            Inputs.address("--holder", holder);
        } else if (holder != null) {
            throw new CliException(ExitCodes.USAGE, "--holder needs --public-key (the node's key, from its log or `keygen`)");
        }
        String ns = root.namespace();
        requireProxy(ns, network);
        String serverKey = nodeApiKey != null ? Inputs.publicKey(nodeApiKey) : serverKeyFromSecret(ns);
        String url = nodeApiUrl != null ? checkedUrl(nodeApiUrl) : urlFromService(ns);
        String agentImage = image != null ? image : imageFromDaemonSet(ns);

        Map<String, Object> result = new LinkedHashMap<>();
        result.put("directory", out.toString());
        result.put("nodeApiUrl", url);
        result.put("nodeApiKey", serverKey);
        result.put("image", agentImage);
        writeBundle(ns, network, url, serverKey, agentImage);
        if (publicKey != null) {
            applyPeer(ns, network);
            result.put("vpnPeer", network + "-" + nodeId);
            ContractWriter.Receipt r = chain.ownerWriter(root).mint(chain.contract(root), holder, nodeId, publicKey, "");
            if (!r.success()) {
                throw new CliException(ExitCodes.UNAVAILABLE, "the bundle and VpnPeer are written, but the mint " + r.txHash() + " failed in block "
                        + r.block() + "; run `dstack-vpn register " + holder + " " + nodeId + " --public-key " + publicKey + "` to retry");
            }
            result.put("tokenId", r.mintedTokenId() == null ? null : r.mintedTokenId().toString());
            result.put("transaction", r.txHash());
        } else {
            result.put("next", "start the node, read its public key from its log, then run this again with --public-key and --holder");
        }
        if (!agentImage.contains("@sha256:")) {
            root.spec.commandLine().getErr().println("warning: image " + agentImage + " is not pinned by digest; a measured app compose should pin it");
        }
        Output.object(root.out(), root.output, result);
        return ExitCodes.OK;
    }

    /** A TCP node reaches the others only through their proxies: without one it would wait forever. */
    private void requireProxy(String ns, String network) {
        VpnNetwork n = root.kube().resources(VpnNetwork.class).inNamespace(ns).withName(network).get();
        if (n == null) {
            throw new CliException(ExitCodes.NOT_FOUND, "VpnNetwork " + network + " not found in namespace " + ns);
        }
        if (n.getSpec().proxy == null || !Boolean.TRUE.equals(n.getSpec().proxy.enabled)) {
            throw new CliException(ExitCodes.CONFIG, "VpnNetwork " + network + " has no proxy (spec.proxy.enabled): a node outside the cluster "
                    + "uses TCP through the nodes' proxies and could reach no one; enable it first");
        }
    }

    private String serverKeyFromSecret(String ns) {
        String name = release + "-node-api-key";
        Secret s = root.kube().secrets().inNamespace(ns).withName(name).get();
        if (s == null || s.getData() == null || s.getData().get("current") == null) {
            throw new CliException(ExitCodes.NOT_FOUND, "Secret " + name + " (key current) not found in namespace " + ns
                    + ": install the chart with nodeApi.enabled=true, or give --node-api-key");
        }
        try {
            byte[] raw = java.util.Base64.getDecoder().decode(s.getData().get("current"));
            WireGuardKey priv = WireGuardKey.parse(new String(raw, StandardCharsets.US_ASCII).strip());
            return priv.publicKey().toBase64();
        } catch (IllegalArgumentException e) {
            // Never echo the value: it is the node API's private key.
            throw new CliException(ExitCodes.CONFIG, "Secret " + name + " key current is not a base64 X25519 key");
        }
    }

    private String urlFromService(String ns) {
        String name = release + "-node-api";
        Service svc = root.kube().services().inNamespace(ns).withName(name).get();
        if (svc == null) {
            throw new CliException(ExitCodes.NOT_FOUND, "Service " + name + " not found in namespace " + ns + ": install the chart with "
                    + "nodeApi.enabled=true, or give --node-api-url");
        }
        var ingress = svc.getStatus() == null || svc.getStatus().getLoadBalancer() == null ? null : svc.getStatus().getLoadBalancer().getIngress();
        if (ingress == null || ingress.isEmpty()) {
            throw new CliException(ExitCodes.USAGE, "Service " + name + " has no external address (type " + svc.getSpec().getType()
                    + "): give --node-api-url, the address your nodes reach it at (an Ingress, a node port, a load balancer)");
        }
        String host = ingress.getFirst().getHostname() != null ? ingress.getFirst().getHostname() : ingress.getFirst().getIp();
        int port = svc.getSpec().getPorts().getFirst().getPort();
        return checkedUrl("http://" + host + ":" + port);
    }

    private static String checkedUrl(String url) {
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw new CliException(ExitCodes.USAGE, "--node-api-url is not a URL: " + e.getMessage());
        }
        if (!"https".equals(uri.getScheme()) && !"http".equals(uri.getScheme()) || uri.getHost() == null) {
            throw new CliException(ExitCodes.USAGE, "--node-api-url must be an http(s) URL with a host, like https://vpn.example.com");
        }
        return url;
    }

    private String imageFromDaemonSet(String ns) {
        DaemonSet ds = root.kube().apps().daemonSets().inNamespace(ns).withName(release + "-agent").get();
        if (ds == null) {
            throw new CliException(ExitCodes.NOT_FOUND, "DaemonSet " + release + "-agent not found in namespace " + ns + ": give --image");
        }
        return ds.getSpec().getTemplate().getSpec().getContainers().getFirst().getImage();
    }

    private void writeBundle(String ns, String network, String url, String serverKey, String agentImage) {
        try {
            Files.createDirectories(out);
            String compose = template().replace(IMAGE_PLACEHOLDER, agentImage);
            Files.writeString(out.resolve("docker-compose.yaml"), compose);
            Files.writeString(out.resolve("node.env"), nodeEnv(ns, network, url, serverKey));
            Files.writeString(out.resolve("README.txt"), readme(ns, network, agentImage));
        } catch (IOException e) {
            throw new CliException(ExitCodes.CONFIG, "cannot write the bundle to " + out + ": " + e.getMessage());
        }
    }

    static String nodeEnv(String ns, String network, String nodeId, String url, String serverKey) {
        return "# dstack-vpn standalone node " + nodeId + " (written by dstack-vpn node-bundle; nothing here is secret)\n"
                + "AGENT_MODE=standalone\n"
                + "NAMESPACE=" + ns + "\n"
                + "NETWORK=" + network + "\n"
                + "NODE_ID=" + nodeId + "\n"
                + "NODE_API_URL=" + url + "\n"
                + "NODE_API_KEY=" + serverKey + "\n"
                + "TRANSPORT=TCP\n"
                // The host's network is the node's: keep /metrics and the probes off its public interface.
                + "HTTP_BIND=127.0.0.1\n";
    }

    private String nodeEnv(String ns, String network, String url, String serverKey) {
        return nodeEnv(ns, network, nodeId, url, serverKey);
    }

    private String readme(String ns, String network, String agentImage) {
        String register = "dstack-vpn node-bundle " + nodeId + " --vpn-network " + network + " -n " + ns + " --out " + out
                + " --public-key <KEY> --holder <ADDRESS>";
        return """
                dstack-vpn node %1$s of network %2$s (namespace %3$s)

                This bundle holds no secret. The node makes its WireGuard key at first start, in the volume
                dstack-vpn-key, and proves it to the node API; nothing else authenticates it.

                1. On the node (a dstack CVM: use docker-compose.yaml as the app compose, with node.env):
                     docker compose up -d
                   or make the key first, without starting the node:
                     docker run --rm -v <project>_dstack-vpn-key:/var/lib/dstack-vpn %4$s keygen
                2. Read its public key from the log ("node %1$s uses public key ...") or from keygen.
                   Until it is granted the node logs that the node API refuses it (NotAMember) and waits.
                3. Grant it (the contract owner's key, as for `dstack-vpn register`):
                     %5$s
                   The node is admitted after the network's confirmation time and joins over TCP.
                4. Revoke it with `dstack-vpn revoke`: every node drops it within about a block, and the
                   node API refuses it from the same peer set on.
                """.formatted(nodeId, network, ns, agentImage, register);
    }

    private static String template() throws IOException {
        try (InputStream in = NodeBundleCommand.class.getResourceAsStream(COMPOSE)) {
            if (in == null) {
                throw new IOException("the compose template is missing from the CLI (" + COMPOSE + ")");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** The node's VpnPeer: its key, TCP, no nodeName (the node API serves only such peers). */
    private void applyPeer(String ns, String network) {
        String name = network + "-" + nodeId;
        VpnPeer existing = root.kube().resources(VpnPeer.class).inNamespace(ns).withName(name).get();
        if (existing != null && existing.getSpec() != null && existing.getSpec().nodeName != null && !existing.getSpec().nodeName.isEmpty()) {
            throw new CliException(ExitCodes.CONFIG, "VpnPeer " + name + " belongs to Kubernetes node " + existing.getSpec().nodeName
                    + ": an outside node needs a node id of its own");
        }
        VpnPeer peer = new VpnPeer();
        peer.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns)
                .addToLabels(io.dstack.vpn.api.VpnLabels.NETWORK, network).build());
        peer.setSpec(new VpnPeerSpec());
        peer.getSpec().network = network;
        peer.getSpec().nodeId = nodeId;
        peer.getSpec().publicKey = publicKey;
        peer.getSpec().transport = VpnPeerSpec.Transport.TCP;
        try {
            root.kube().resource(peer).inNamespace(ns).patch(new PatchContext.Builder().withPatchType(PatchType.SERVER_SIDE_APPLY)
                    .withFieldManager(FIELD_MANAGER).withForce(true).build());
        } catch (UncheckedIOException e) {
            throw new CliException(ExitCodes.UNAVAILABLE, "cannot write VpnPeer " + name + ": " + e.getMessage());
        }
    }
}
