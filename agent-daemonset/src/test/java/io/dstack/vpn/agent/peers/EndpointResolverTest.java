package io.dstack.vpn.agent.peers;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.dstack.vpn.api.peerset.DesiredPeer;

class EndpointResolverTest {
    static final Map<String, String> HOSTS = Map.of("node-a.example", "192.0.2.7", "v6.example", "2001:db8::7");
    static final EndpointResolver RESOLVER = new EndpointResolver(host -> {
        String address = HOSTS.get(host);
        if (address == null) {
            throw new UnknownHostException(host);
        }
        return address;
    });

    @ParameterizedTest
    @CsvSource(nullValues = "-", delimiter = '|', value = {
            "10.0.0.1:51820          | 10.0.0.1:51820",
            "[2001:db8::1]:51820     | [2001:db8::1]:51820",
            "node-a.example:51820    | 192.0.2.7:51820",
            "v6.example:443          | 2001:db8::7:443",
            "gone.example:51820      | -",
            "-                       | -",
    })
    void namesAreResolvedAndAddressesKept(String endpoint, String resolved) {
        assertThat(RESOLVER.resolve("a", endpoint)).isEqualTo(resolved);
    }

    @Test
    void everyPeerKeepsItsOtherFields() {
        var peer = new DesiredPeer("a", "key", "node-a.example:51820", List.of("10.99.0.1/32"), 25);
        assertThat(RESOLVER.resolve(List.of(peer)))
                .containsExactly(new DesiredPeer("a", "key", "192.0.2.7:51820", List.of("10.99.0.1/32"), 25));
    }
}
