package io.dstack.vpn.operator.status;

import java.util.LinkedHashMap;
import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;

/**
 * Server-side apply of part of a resource's status under a named field manager. Each writer of VpnPeer
 * status (admission, IPAM, the agent) sends only the fields it owns, so none can overwrite another's with a
 * stale copy, and a field a writer stops sending is removed.
 */
@ApplicationScoped
public class StatusApplier {

    @Inject
    KubernetesClient client;

    @Inject
    KubernetesSerialization serialization;

    public void apply(HasMetadata target, String fieldManager, Object ownedStatusFields) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("apiVersion", target.getApiVersion());
        body.put("kind", target.getKind());
        body.put("metadata", Map.of("name", target.getMetadata().getName(),
                "namespace", target.getMetadata().getNamespace()));
        body.put("status", ownedStatusFields);
        client.resources(target.getClass())
                .inNamespace(target.getMetadata().getNamespace())
                .withName(target.getMetadata().getName())
                .subresource("status")
                .patch(new PatchContext.Builder()
                        .withPatchType(PatchType.SERVER_SIDE_APPLY)
                        .withFieldManager(fieldManager)
                        .withForce(true)
                        .build(), serialization.asJson(body));
    }
}
