package io.dstack.vpn.api;

/** Label, annotation and field-manager names shared by the operator, the agent and the CLI. */
public final class VpnLabels {
    public static final String GROUP = "vpn.dstack.io";

    /** On every object the operator renders for a network: the network's name. */
    public static final String NETWORK = GROUP + "/network";
    /** Marks the rendered peer-set ConfigMap so agents and tools can find it with a label selector. */
    public static final String COMPONENT = GROUP + "/component";
    public static final String COMPONENT_PEERSET = "peerset";
    /** Annotation on the peer-set ConfigMap: the generation of the rendered peer set. */
    public static final String PEERSET_GENERATION = GROUP + "/peerset-generation";

    /**
     * Required ("true") on a Secret that a VpnNetwork's rpcUrlsSecretRef names: the operator reads only Secrets
     * opted in this way, so a VpnNetwork cannot make it use any other Secret of its namespace.
     */
    public static final String RPC_URLS_SECRET = GROUP + "/rpc-urls";

    /** Server-side-apply field managers: each writer owns a disjoint part of VpnPeer status. */
    public static final String FIELD_MANAGER_ADMISSION = "dstack-vpn-admission";
    public static final String FIELD_MANAGER_IPAM = "dstack-vpn-ipam";
    public static final String FIELD_MANAGER_AGENT = "dstack-vpn-agent";

    private VpnLabels() {
    }
}
