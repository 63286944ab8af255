package io.dstack.vpn.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class VpnPeerSpec {

    public enum Transport {
        /** Plain WireGuard over UDP. */
        UDP,
        /** WireGuard datagrams carried over TCP through the proxy (Mullvad udp-over-tcp framing). */
        TCP
    }

    @Required
    @Size(max = 253)
    @JsonPropertyDescription("Name of the VpnNetwork (same namespace) this peer belongs to. Immutable.")
    @ValidationRule(value = ApiPatterns.DNS_SUBDOMAIN_RULE, message = "network must be the name of a VpnNetwork")
    @ValidationRule(value = "self == oldSelf", message = "network is immutable: delete and recreate the VpnPeer to move it")
    public String network;

    @Required
    @Size(max = 63)
    @JsonPropertyDescription("Node id as recorded in the access NFT. Immutable.")
    @ValidationRule(value = ApiPatterns.NODE_ID_RULE, message = "nodeId " + ApiPatterns.NODE_ID_MESSAGE)
    @ValidationRule(value = "self == oldSelf", message = "nodeId is immutable: it is the identity the NFT binds")
    public String nodeId;

    @Required
    @Size(max = 44)
    @JsonPropertyDescription("The node's WireGuard public key (base64). Rotating it needs the token to bind the new key.")
    @ValidationRule(value = ApiPatterns.WG_KEY_RULE, message = "publicKey " + ApiPatterns.WG_KEY_MESSAGE)
    public String publicKey;

    @Size(max = 261)
    @JsonPropertyDescription("host:port other peers send UDP to. Empty: this peer only dials out.")
    @ValidationRule(value = ApiPatterns.ENDPOINT_RULE, message = "endpoint " + ApiPatterns.ENDPOINT_MESSAGE)
    public String endpoint;

    @Default("UDP")
    @JsonPropertyDescription("UDP, or TCP through the network's proxy where UDP is blocked.")
    public Transport transport;

    @Size(max = 15)
    @JsonPropertyDescription("Ask for this overlay address; it must lie in the network's CIDR and be free.")
    @ValidationRule(value = "isIP(self) && ip(self).family() == 4",
            message = "address must be an IPv4 address such as 10.100.0.7")
    public String address;

    @Min(0)
    @Max(65535)
    @JsonPropertyDescription("Seconds between keepalives (0 disables them). 25 keeps NAT mappings open.")
    public Integer persistentKeepalive;

    @Size(max = 253)
    @JsonPropertyDescription("Kubernetes node that runs this peer's agent, if any.")
    @ValidationRule(value = ApiPatterns.DNS_SUBDOMAIN_RULE, message = "nodeName must be a Kubernetes node name: lowercase letters, digits, '-' and '.'")
    public String nodeName;
}
