package io.dstack.vpn.api.crd;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import io.dstack.vpn.api.v1alpha1.VpnNetwork;
import io.dstack.vpn.api.v1alpha1.VpnPeer;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.crdv2.generator.CRDGenerator;
import io.fabric8.crdv2.generator.CRDPostProcessor;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;

/**
 * Renders the CRDs from the Java model with fabric8's generator plus two fixes the annotations cannot
 * express: printer columns keep the order they are declared in (the generator sorts them by path, which
 * would put Age first), {@code spec} is required, and every {@code conditions} list becomes a map keyed by type, so several
 * server-side-apply field managers can each own their own conditions.
 */
public final class CrdRenderer {

    static final List<Class<? extends HasMetadata>> RESOURCES = List.of(VpnNetwork.class, VpnPeer.class);

    /** Writes one YAML file per CRD into {@code dir}; returns file name to content. */
    public static Map<String, String> render(Path dir) throws IOException {
        Files.createDirectories(dir);
        new CRDGenerator()
                .inOutputDir(dir.toFile())
                .forCRDVersions("v1")
                .withPostProcessor(new CRDPostProcessor() {
                    @Override
                    public HasMetadata process(HasMetadata crd, String crdSpecVersion) {
                        return finish(crd);
                    }
                })
                .customResourceClasses(RESOURCES)
                .generate();
        Map<String, String> files = new TreeMap<>();
        try (var listing = Files.list(dir)) {
            for (Path p : listing.filter(f -> f.toString().endsWith(".yml")).toList()) {
                files.put(p.getFileName().toString(), Files.readString(p));
            }
        }
        return files;
    }

    private static HasMetadata finish(HasMetadata resource) {
        if (resource instanceof CustomResourceDefinition crd) {
            Class<?> model = RESOURCES.stream()
                    .filter(c -> HasMetadata.getKind(c).equals(crd.getSpec().getNames().getKind()))
                    .findFirst().orElseThrow();
            List<String> declared = Arrays.stream(model.getAnnotationsByType(AdditionalPrinterColumn.class))
                    .map(AdditionalPrinterColumn::name).toList();
            for (CustomResourceDefinitionVersion v : crd.getSpec().getVersions()) {
                v.getAdditionalPrinterColumns().sort(Comparator.comparingInt(c -> declared.indexOf(c.getName())));
                JSONSchemaProps root = v.getSchema().getOpenAPIV3Schema();
                root.setRequired(List.of("spec"));
                markConditionLists(root);
            }
        }
        return resource;
    }

    private static void markConditionLists(JSONSchemaProps schema) {
        if (schema == null || schema.getProperties() == null) {
            return;
        }
        schema.getProperties().forEach((name, prop) -> {
            if ("conditions".equals(name) && "array".equals(prop.getType())) {
                prop.setXKubernetesListType("map");
                prop.setXKubernetesListMapKeys(List.of("type"));
                JSONSchemaProps item = prop.getItems().getSchema();
                item.setRequired(List.of("type", "status"));
            }
            markConditionLists(prop);
        });
    }

    private CrdRenderer() {
    }
}
