package io.dstack.vpn.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.ValidationRule;

@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "has(self.chain) != has(self.devAllowList)",
        message = "set exactly one access source: access.chain (the NFT contract) or access.devAllowList (dev/test only)")
public class AccessSource {

    @JsonPropertyDescription("Membership from the access NFT contract: an active token must bind node id and key.")
    public ChainAccess chain;

    @JsonPropertyDescription("DEV/TEST ONLY: a static list of node ids and keys admitted without any chain. "
            + "Anyone who can edit this VpnNetwork can grant access.")
    public DevAllowList devAllowList;
}
