package io.dstack.vpn.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "self.policy != 'SuspendAfterGracePeriod' || has(self.gracePeriod)",
        message = "chainOutage.policy SuspendAfterGracePeriod needs chainOutage.gracePeriod, e.g. 1h")
@ValidationRule(value = "!has(self.gracePeriod) || duration(self.gracePeriod) >= duration('1m')",
        message = "chainOutage.gracePeriod must be at least 1m")
public class ChainOutagePolicy {

    public enum Policy {
        /** Keep admitting what was last known (default: an RPC outage must not cut a working network). */
        KeepLastKnown,
        /** After the grace period without chain data, suspend every peer (fail closed). */
        SuspendAfterGracePeriod
    }

    @Default("KeepLastKnown")
    public Policy policy;

    @Size(max = 16)
    @JsonPropertyDescription("Duration such as 30m or 2h.")
    public String gracePeriod;
}
