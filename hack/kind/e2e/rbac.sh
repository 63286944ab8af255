# shellcheck shell=bash
# The agent's RBAC, proved from inside an agent pod with its own ServiceAccount token: kubectl is copied into
# the agent container and run there (in-cluster config), so every request carries exactly the agent's identity.

phase_rbac() {
  local node=${NODES[0]} other=${NODES[1]} pod out
  pod="$(agent_pod "${node}")"
  kubectl exec -i -n "${NS}" "${pod}" -c agent -- sh -c 'cat > /tmp/kubectl && chmod 0755 /tmp/kubectl' <"$(command -v kubectl)"
  in_agent() { kubectl exec -i -n "${NS}" "${pod}" -c agent -- /tmp/kubectl -n "${NS}" "$@" 2>&1; }
  # expect_denied WHAT COMMAND...: the agent's request must fail with the API server's denial, not anything else.
  expect_denied() {
    local what=$1
    shift
    if out="$(in_agent "$@")"; then
      die "the agent on ${node} could ${what}: ${out}"
    fi
    grep -qiE 'forbidden|denied' <<<"${out}" || die "'${what}' failed for another reason than a denial: ${out}"
    log "agent on ${node} may not ${what}: $(grep -oiE '(is forbidden|denied request)[^.]*' <<<"${out}" | head -n 1)"
  }

  # Control: the same identity may change its own node's VpnPeer, so the denials below are about authority.
  in_agent annotate vpnpeer "${NETWORK}-${node}" e2e.dstack.io/rbac-check=own --overwrite >/dev/null \
    || die "the agent on ${node} cannot annotate its own VpnPeer: $(in_agent annotate vpnpeer "${NETWORK}-${node}" e2e.dstack.io/rbac-check=own --overwrite)"
  in_agent annotate vpnpeer "${NETWORK}-${node}" e2e.dstack.io/rbac-check- >/dev/null
  log "agent on ${node} may annotate its own VpnPeer ${NETWORK}-${node} (control)"

  expect_denied "read a Secret" get secrets
  expect_denied "patch another node's VpnPeer (${NETWORK}-${other})" \
    patch vpnpeer "${NETWORK}-${other}" --type merge -p '{"spec":{"endpoint":"203.0.113.9:51820"}}'
  expect_denied "create a VpnPeer for another node (${other})" create -f - <<EOF
apiVersion: vpn.dstack.io/v1alpha1
kind: VpnPeer
metadata:
  name: ${NETWORK}-impostor
spec:
  network: ${NETWORK}
  nodeId: impostor
  nodeName: ${other}
  publicKey: "$(head -c 32 /dev/urandom | base64)"
EOF
  # The identity attack: its own nodeName and a well-formed name, but another node's id (in another network,
  # so that only the node id is wrong). Allowed, it would win the duplicate and lock the real node out.
  expect_denied "publish another node's id (${other}) under its own node name" create -f - <<EOF
apiVersion: vpn.dstack.io/v1alpha1
kind: VpnPeer
metadata:
  name: other-${other}
spec:
  network: other
  nodeId: ${other}
  nodeName: ${node}
  publicKey: "$(head -c 32 /dev/urandom | base64)"
EOF
  kubectl exec -n "${NS}" "${pod}" -c agent -- rm -f /tmp/kubectl
}
