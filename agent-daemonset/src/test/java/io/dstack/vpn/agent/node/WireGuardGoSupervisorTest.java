package io.dstack.vpn.agent.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WireGuardGoSupervisorTest {
    @Test
    void aSocketSomeoneListensOnAnswers(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("dvpn0.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            assertThat(WireGuardGoSupervisor.answers(socket)).isTrue();
        }
    }

    /** What a wireguard-go that died with its container leaves in the hostPath: the file, nobody behind it. */
    @Test
    void aLeftoverSocketFileDoesNotAnswer(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("dvpn0.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
        }
        assertThat(socket).exists();
        assertThat(WireGuardGoSupervisor.answers(socket)).isFalse();
        assertThat(WireGuardGoSupervisor.answers(dir.resolve("absent.sock"))).isFalse();
        Files.delete(socket);
    }
}
