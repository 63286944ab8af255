package io.dstack.vpn.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class DnsSpec {
    @Size(max = 253)
    @JsonPropertyDescription("Domain for overlay names: <nodeId>.<domain> resolves to the peer's address.")
    @ValidationRule(value = ApiPatterns.DNS_SUBDOMAIN_RULE,
            message = "dns.domain must be a DNS subdomain of lowercase labels, e.g. vpn.internal")
    public String domain;
}
