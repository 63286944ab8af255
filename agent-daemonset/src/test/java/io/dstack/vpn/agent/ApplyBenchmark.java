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
import io.dstack.vpn.api.peerset.DesiredPeer;
import io.dstack.vpn.agent.peers.PeerDiff;
import io.dstack.vpn.agent.uapi.UapiClient;
import io.dstack.vpn.api.wireguard.WireGuardKey;
import io.dstack.vpn.testing.SimulatedNetwork;
import io.dstack.vpn.testing.SimulatedNode;

/**
 * A one-peer change on a wireguard-go interface with 1,000 and 5,000 peers: the agent's path (diff against
 * its device model, one UAPI set) beside {@code wg syncconf} of the full config, in one run; and a full apply
 * of 1,000 peers. Not a CI test: run hack/bench-agent.sh. Endpoints are addresses of the test's own
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
                        Process wg = new ProcessBuilder("unshare", "--mount", "--propagation", "private", "sh", "-c",
                                "mount --bind \"$0\" /var/run/wireguard && exec wg syncconf wg0 \"$1\"", socket.getParent().toString(), conf.toString())
                                .redirectErrorStream(true).start();
                        String out = new String(wg.getInputStream().readAllBytes());
                        assertThat(wg.waitFor(60, TimeUnit.SECONDS)).isTrue();
                        assertThat(wg.exitValue()).as(out).isZero();
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
        }
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
