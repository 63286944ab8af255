package io.dstack.vpn.operator;

import java.util.function.Consumer;

import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.javaoperatorsdk.operator.api.config.ConfigurationServiceOverrider;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import io.quarkiverse.operatorsdk.runtime.api.ConfigurationServiceCustomizer;

/**
 * Leader election through a Lease, so a rolling upgrade or a second replica never has two operators
 * writing peer sets at once. The lease lives in the operator's own namespace.
 */
@Singleton
public class LeaderElection implements ConfigurationServiceCustomizer {

    @ConfigProperty(name = "dstack.operator.leader-election.enabled", defaultValue = "true")
    boolean enabled;

    @ConfigProperty(name = "dstack.operator.leader-election.lease-name", defaultValue = "dstack-vpn-operator")
    String leaseName;

    @ConfigProperty(name = "dstack.operator.namespace", defaultValue = "default")
    String namespace;

    @Override
    public Consumer<ConfigurationServiceOverrider> overrider() {
        return o -> {
            if (enabled) {
                o.withLeaderElectionConfiguration(new LeaderElectionConfiguration(leaseName, namespace));
            }
        };
    }
}
