package io.dstack.vpn.agent.dns;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.junit.jupiter.api.Test;

import io.dstack.vpn.agent.AgentConfig;

class DnsConfigTest {
    static final Map<String, String> BASE = Map.of("NAMESPACE", "vpn", "NETWORK", "mesh", "NODE_ID", "n-1");

    static Map<String, String> with(String... kv) {
        Map<String, String> env = new java.util.HashMap<>(BASE);
        for (int i = 0; i < kv.length; i += 2) {
            env.put(kv[i], kv[i + 1]);
        }
        return env;
    }

    @Test
    void defaults() {
        DnsConfig dns = AgentConfig.fromEnv(BASE).dns();
        assertThat(dns.enabled()).isTrue();
        assertThat(dns.bind()).isEqualTo("0.0.0.0");
        assertThat(dns.port()).isEqualTo(1053);
        assertThat(dns.domain()).isEqualTo("vpn.internal");
        assertThat(dns.ttl()).isEqualTo(5);
        assertThat(dns.origin("mesh")).containsExactly("mesh", "vpn", "internal");
    }

    @Test
    void offOrEmptyDisables() {
        assertThat(DnsConfig.fromEnv(with("DNS_BIND", "off")).enabled()).isFalse();
        assertThat(DnsConfig.fromEnv(with("DNS_BIND", "OFF")).enabled()).isFalse();
        assertThat(DnsConfig.fromEnv(with("DNS_BIND", "")).enabled()).isFalse();
        assertThat(DnsConfig.fromEnv(with("DNS_BIND", "10.0.0.5")).bind()).isEqualTo("10.0.0.5");
        assertThat(DnsConfig.fromEnv(with("WG_BACKEND", "memory")).enabled()).as("scale tests' fake device: off unless asked").isFalse();
        assertThat(DnsConfig.fromEnv(with("WG_BACKEND", "memory", "DNS_BIND", "127.0.0.1")).enabled()).isTrue();
    }

    @Test
    void theDomainIsNormalised() {
        DnsConfig dns = DnsConfig.fromEnv(with("DNS_DOMAIN", "Corp.Example."));
        assertThat(dns.domain()).isEqualTo("corp.example");
        assertThat(dns.origin("dev.team")).containsExactly("dev", "team", "corp", "example");
    }

    @Test
    void badValuesAreRefusedWithTheVariableNamed() {
        assertThatThrownBy(() -> DnsConfig.fromEnv(with("DNS_PORT", "0"))).hasMessageContaining("DNS_PORT must be a whole number from 1 to 65535");
        assertThatThrownBy(() -> DnsConfig.fromEnv(with("DNS_PORT", "53x"))).hasMessageContaining("DNS_PORT");
        assertThatThrownBy(() -> DnsConfig.fromEnv(with("DNS_TTL_SECONDS", "-1"))).hasMessageContaining("DNS_TTL_SECONDS");
        for (String domain : new String[] {"", "a..b", "-a.b", "a_b.internal", "x".repeat(64) + ".internal", "vpn internal", "*.internal"}) {
            assertThatThrownBy(() -> DnsConfig.fromEnv(with("DNS_DOMAIN", domain))).as(domain).hasMessageContaining("DNS_DOMAIN must be a DNS name");
        }
        assertThatThrownBy(() -> DnsConfig.fromEnv(with("DNS_ALLOW_FROM", "10.0.0.0/8,everyone"))).hasMessageContaining("DNS_ALLOW_FROM")
                .hasMessageContaining("everyone");
        // <nodeId>.<network>.<domain> must fit 255 bytes even for a 63-character node id.
        String longDomain = String.join(".", java.util.Collections.nCopies(4, "d".repeat(50)));
        assertThatThrownBy(() -> AgentConfig.fromEnv(with("DNS_DOMAIN", longDomain))).hasMessageContaining("too long");
        assertThat(AgentConfig.fromEnv(with("DNS_DOMAIN", longDomain, "DNS_BIND", "off")).dns().enabled()).as("not checked when off").isFalse();
    }
}
