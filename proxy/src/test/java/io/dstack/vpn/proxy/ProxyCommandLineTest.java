package io.dstack.vpn.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ProxyCommandLineTest {

    @Test
    void parsesMullvadStyleOptions() {
        ProxyCommandLine cli = ProxyCommandLine.parse(new String[] {"tcp2udp", "--tcp-listen", "127.0.0.1:8443",
                "--tcp-listen", "[::1]:8443", "--udp-forward", "127.0.0.1:51820", "--udp-bind", "127.0.0.1",
                "--tcp-recv-timeout-secs", "30", "--recv-buffer", "1048576", "--no-nodelay", "--max-connections", "10"});
        assertThat(cli.tcpListen()).hasSize(2);
        assertThat(cli.tcpListen().get(1).getPort()).isEqualTo(8443);
        assertThat(cli.udpForward().getPort()).isEqualTo(51820);
        assertThat(cli.tcp()).isEqualTo(new TcpOptions(false, 1048576, 0, 30));
        assertThat(cli.maxConnections()).isEqualTo(10);
    }

    @Test
    void badCommandLinesSayWhatIsWrong() {
        assertThatThrownBy(() -> ProxyCommandLine.parse(new String[] {"relay"})).hasMessageContaining("tcp2udp, udp2tcp or node");
        assertThatThrownBy(() -> ProxyCommandLine.parse(new String[] {"udp2tcp", "--udp-listen", "127.0.0.1:1"}))
                .hasMessageContaining("--tcp-forward");
        assertThatThrownBy(() -> ProxyCommandLine.parse(new String[] {"tcp2udp", "--tcp-listen", "127.0.0.1"}))
                .hasMessageContaining("host:port");
        assertThatThrownBy(() -> ProxyCommandLine.parse(new String[] {"tcp2udp", "--tcp-listen", "127.0.0.1:1",
                "--udp-forward", "127.0.0.1:2", "--max-connections", "0"})).hasMessageContaining("from 1");
        assertThatThrownBy(() -> ProxyCommandLine.parse(new String[] {"tcp2udp", "--open-relay", "yes"}))
                .hasMessageContaining("unknown option --open-relay");
    }
}
