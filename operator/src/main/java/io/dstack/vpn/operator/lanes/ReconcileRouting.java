package io.dstack.vpn.operator.lanes;

import io.dstack.vpn.operator.network.VpnNetworkReconciler;

/**
 * Which lane a JOSDK task belongs to. JOSDK (5.x) submits one task per reconcile whose {@code toString()} is
 * {@code "<controller name> -> <resource>"}; it offers no other way to see the controller. If a JOSDK upgrade
 * changes that, every task lands in the general lane (slower revocations under load, never a lost one), and
 * OperatorIT fails on the priority lane's task count.
 */
public final class ReconcileRouting {
    private static final String NETWORK_PREFIX = VpnNetworkReconciler.NAME + " -> ";

    public static boolean isNetworkReconcile(Runnable task) {
        try {
            return task.toString().startsWith(NETWORK_PREFIX);
        } catch (RuntimeException e) {
            return false;
        }
    }

    private ReconcileRouting() {
    }
}
