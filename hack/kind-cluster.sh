#!/usr/bin/env bash
# Creates or deletes the multi-node kind cluster our kind tests run on (one control plane, WORKERS workers).
#
#   hack/kind-cluster.sh create   starts a Docker engine if none answers (hack/docker-engine.sh), installs kind
#                                 (hack/install-kind.sh), picks the node image and creates cluster ${CLUSTER};
#                                 its kubeconfig goes to ${KUBECONFIG_OUT}.
#   hack/kind-cluster.sh delete   deletes cluster ${CLUSTER} if this script created it, then stops the engine
#                                 if hack/docker-engine.sh started it.
#
# The node image: KIND_NODE_IMAGE if set; else kind's published image when a registry serves it (an ordinary
# laptop); else one built here by hack/build-kind-node-image.sh (our CI machines, no registry).
#
# Settings: CLUSTER (dstack-vpn), WORKERS (2), KIND_NODE_IMAGE, KUBECONFIG_OUT
# ($(dstack_cache_dir)/kind/${CLUSTER}.kubeconfig), WAIT (300s).
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh

CLUSTER="${CLUSTER:-dstack-vpn}"
WORKERS="${WORKERS:-2}"
STATE_DIR="$(dstack_cache_dir)/kind"
KUBECONFIG_OUT="${KUBECONFIG_OUT:-${STATE_DIR}/${CLUSTER}.kubeconfig}"
CREATED_MARK="/run/dstack-vpn-kind/${CLUSTER}.created"
# Probed to decide whether kind's published node images can be pulled here.
STOCK_PROBE="${STOCK_PROBE:-kindest/node:v1.37.0}"

create() {
  hack/docker-engine.sh start
  local kind image
  kind="$(hack/install-kind.sh | tail -n 1)"
  if "${kind}" get clusters 2>/dev/null | grep -qx "${CLUSTER}"; then
    die "kind cluster ${CLUSTER} exists already: hack/kind-cluster.sh delete (or: ${kind} delete cluster --name ${CLUSTER})"
  fi
  image="${KIND_NODE_IMAGE:-}"
  if [[ -z "${image}" ]]; then
    if docker pull -q "${STOCK_PROBE}" >/dev/null 2>&1; then
      log "a registry serves kind's node images: using kind's default node image"
    else
      log "no registry serves ${STOCK_PROBE}: building the node image here (hack/build-kind-node-image.sh)"
      image="$(hack/build-kind-node-image.sh | tail -n 1)"
    fi
  fi
  mkdir -p "${STATE_DIR}" "$(dirname "${CREATED_MARK}")"
  local config="${STATE_DIR}/${CLUSTER}.yaml"
  {
    cat <<'YAML'
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
# Kubernetes 1.35+ kubelets refuse cgroup v1 hosts unless told otherwise; our CI machines are cgroup v1.
kubeadmConfigPatches:
  - |
    kind: KubeletConfiguration
    failCgroupV1: false
nodes:
  - role: control-plane
YAML
    for ((i = 0; i < WORKERS; i++)); do echo "  - role: worker"; done
  } >"${config}"
  log "creating kind cluster ${CLUSTER} (1 control plane, ${WORKERS} workers${image:+, image ${image}})"
  touch "${CREATED_MARK}"
  local args=(create cluster --name "${CLUSTER}" --config "${config}" --kubeconfig "${KUBECONFIG_OUT}" --wait "${WAIT:-300s}")
  [[ -n "${image}" ]] && args+=(--image "${image}")
  local start=${SECONDS}
  if ! "${kind}" "${args[@]}"; then
    "${kind}" export logs --name "${CLUSTER}" "${STATE_DIR}/${CLUSTER}-logs" >/dev/null 2>&1 || true
    die "kind create cluster failed; node logs in ${STATE_DIR}/${CLUSTER}-logs"
  fi
  log "cluster ${CLUSTER} created in $((SECONDS - start)) s; kubeconfig ${KUBECONFIG_OUT}"
}

delete() {
  local kind
  if [[ -f "${CREATED_MARK}" ]]; then
    kind="$(hack/install-kind.sh | tail -n 1)"
    log "deleting kind cluster ${CLUSTER}"
    "${kind}" delete cluster --name "${CLUSTER}" --kubeconfig "${KUBECONFIG_OUT}" >&2 || log "warning: kind delete cluster failed"
    rm -f "${CREATED_MARK}" "${KUBECONFIG_OUT}"
  fi
  hack/docker-engine.sh stop
}

case "${1:-}" in
  create) create ;;
  delete) delete ;;
  *) die "usage: $0 create|delete" ;;
esac
