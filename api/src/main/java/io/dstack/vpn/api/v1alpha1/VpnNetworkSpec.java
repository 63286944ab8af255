package io.dstack.vpn.api.v1alpha1;

import java.util.Map;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class VpnNetworkSpec {

    @Required
    @Size(max = 18)
    @JsonPropertyDescription("IPv4 overlay range, e.g. 10.100.0.0/24. Immutable: every node routes it.")
    @ValidationRule(value = "isCIDR(self) && cidr(self).ip().family() == 4",
            message = "cidr must be an IPv4 CIDR such as 10.100.0.0/24")
    @ValidationRule(value = "!isCIDR(self) || (cidr(self).prefixLength() >= 8 && cidr(self).prefixLength() <= 30)",
            message = "cidr prefix length must be between /8 and /30")
    @ValidationRule(value = "!isCIDR(self) || cidr(self) == cidr(self).masked()",
            message = "cidr must be a network address with the host bits zero, e.g. 10.100.0.0/24 rather than 10.100.0.1/24")
    @ValidationRule(value = "self == oldSelf",
            message = "cidr is immutable: every node routes it; create a new VpnNetwork to renumber")
    public String cidr;

    @Default("51820")
    @Min(1)
    @Max(65535)
    @JsonPropertyDescription("UDP port WireGuard listens on, on every node.")
    public Integer listenPort;

    @Default("1420")
    @Min(1280)
    @Max(9000)
    @JsonPropertyDescription("MTU of the WireGuard interface (1280 to 9000).")
    public Integer mtu;

    @JsonPropertyDescription("Who peers with whom. Default: full mesh.")
    public Topology topology;

    @Size(max = 64)
    @JsonPropertyDescription("Only nodes with these labels run the agent for this network. Empty: all nodes.")
    public Map<String, String> nodeSelector;

    @Required
    @JsonPropertyDescription("Where membership comes from: the NFT contract on chain, or a dev/test allow-list.")
    public AccessSource access;

    @JsonPropertyDescription("UDP-over-TCP proxy for peers whose UDP is blocked.")
    public ProxySpec proxy;

    @JsonPropertyDescription("DNS names for peers inside the overlay.")
    public DnsSpec dns;
}
