package io.dstack.vpn.api.v1alpha1;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "self.mode != 'HubAndSpoke' || (has(self.hubs) && size(self.hubs) > 0)",
        message = "topology.mode HubAndSpoke needs at least one node id in topology.hubs")
@ValidationRule(value = "self.mode != 'Mesh' || !has(self.hubs) || size(self.hubs) == 0",
        message = "topology.hubs is only used with mode HubAndSpoke; remove it or change the mode")
public class Topology {

    public enum Mode {
        Mesh, HubAndSpoke
    }

    @Default("Mesh")
    @JsonPropertyDescription("Mesh: every node peers with every node. HubAndSpoke: spokes peer only with the hubs.")
    public Mode mode;

    @Size(max = 16)
    @JsonPropertyDescription("Node ids of the hubs (HubAndSpoke only).")
    @ValidationRule(value = "self.all(h, h.matches('^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'))",
            message = "every hub must be a node id: a DNS-1123 label (lowercase letters, digits, '-', at most 63 characters)")
    public List<@Size(max = 63) String> hubs;
}
