package io.dstack.vpn.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class ProxySpec {
    @Default("false")
    @JsonPropertyDescription("Run the UDP-over-TCP proxy (Mullvad udp-over-tcp framing) for TCP-transport peers.")
    public Boolean enabled;

    @Default("443")
    @Min(1)
    @Max(65535)
    @JsonPropertyDescription("TCP port the proxy listens on.")
    public Integer port;

    @Size(max = 261)
    @JsonPropertyDescription("host:port that TCP-transport peers dial; defaults to the proxy Service.")
    @ValidationRule(value = ApiPatterns.ENDPOINT_RULE, message = ApiPatterns.ENDPOINT_MESSAGE)
    public String endpoint;
}
