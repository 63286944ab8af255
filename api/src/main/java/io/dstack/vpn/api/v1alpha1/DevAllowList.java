package io.dstack.vpn.api.v1alpha1;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** DEV/TEST ONLY access source: the network spec itself lists who is admitted. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class DevAllowList {
    @Required
    @Size(max = 512)
    @JsonPropertyDescription("Node ids with the public key each may use.")
    public List<AllowedNode> nodes;

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public static class AllowedNode {
        @Required
        @Size(max = 63)
        @ValidationRule(value = ApiPatterns.NODE_ID_RULE, message = ApiPatterns.NODE_ID_MESSAGE)
        public String nodeId;

        @Required
        @Size(max = 44)
        @ValidationRule(value = ApiPatterns.WG_KEY_RULE, message = ApiPatterns.WG_KEY_MESSAGE)
        public String publicKey;

        public AllowedNode() {
        }

        public AllowedNode(String nodeId, String publicKey) {
            this.nodeId = nodeId;
            this.publicKey = publicKey;
        }
    }
}
