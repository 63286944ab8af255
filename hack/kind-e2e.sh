#!/usr/bin/env bash
# The product on a kind cluster, end to end: the chart and our images on real kubelets, an NFT-gated WireGuard
# mesh between the nodes, and what happens to it on a bad day. CI runs it (.ci/run); docs/kind.md explains it.
#
# It builds on hack/build-images.sh (the images, with no registry where none answers) and hack/kind-cluster.sh
# (a Docker engine if none answers, and a control plane plus two workers; without a registry the node image is
# built here). The phases (hack/kind/e2e/*.sh), in order:
#   cluster        images, cluster, images loaded; UDP between worker 2 and the other nodes dropped (iptables)
#   chain          anvil on the kind network's gateway (1 s blocks), our access NFT deployed
#   install        helm install (worker 2 labelled transport TCP) and the VpnNetwork "mesh" (proxy on)
#   register       the CLI mints a token per node's VpnPeer; every peer Active
#   pings          every pair pings across the overlay; worker 2 provably over TCP through the proxies
#   dns            the chart's CoreDNS block in the Corefile: a pod resolves <node>.mesh.vpn.internal to each overlay
#                  address; worker 1 revoked -> its name gone with its peer (timed), granted again; Corefile restored
#   standalone     a node outside Kubernetes from `node-bundle`'s compose file (docker compose, UDP dropped): refused
#                  while pending, joins over TCP once granted, revoked -> refused and dropped, granted again
#   revocation     worker 1 revoked and granted again REVOCATIONS (10) times: block -> cut on every node, p50/p99
#   footprint      each agent's container: cgroup memory, one java process (the node proxy in its JVM), start -> Ready
#   operator-loss  the operator pod force-deleted and a revocation sent while none runs: no drop, no stale grant
#   agent-restart  an agent pod deleted: same key, same address
#   rbac           from inside an agent pod: read a Secret, patch or create another node's VpnPeer -> denied
#   upgrade        helm upgrade (image tag, log level) under pings between every pair; losses counted
#   uninstall      helm uninstall leaves only the CRDs, the custom resources and the leader Lease
#   gitops         a fresh namespace from kubectl apply -k (config/overlays/anvil-local); kubectl diff -k is empty
#   node-delete    worker 1's Node deleted: its VpnPeer garbage-collected, its address freed
# Everything it creates is removed on exit, Ctrl-C included.
#
# Needs: kubectl, node, curl, a JDK 21+ (hack/env.sh), Linux amd64 (the anvil binary); Docker, kind and helm
# are installed by the scripts above if missing.
# Settings: CLUSTER (dstack-vpn-e2e), TAG (dev), KIND_NODE_IMAGE (see hack/kind-cluster.sh), ANVIL_PORT (8545),
# REVOCATIONS (10), SKIP_BUILD (0: reuse images already built), PHASES (all, in the order above),
# KEEP (0; 1 keeps the cluster and anvil and writes the run's state so that REUSE=1 PHASES="..." can go on
# from there).
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh
source hack/env.sh
source hack/kind/e2e/lib.sh
source hack/kind/e2e/setup.sh
source hack/kind/e2e/revocation.sh
source hack/kind/e2e/dns.sh
source hack/kind/e2e/faults.sh
source hack/kind/e2e/rbac.sh
source hack/kind/e2e/lifecycle.sh
source hack/kind/e2e/footprint.sh
source hack/kind/e2e/standalone.sh

export CLUSTER="${CLUSTER:-dstack-vpn-e2e}"
TAG="${TAG:-dev}"
NS="dstack-vpn"
RELEASE="dstack-vpn"
NETWORK="mesh"
ANVIL_PORT="${ANVIL_PORT:-8545}"
CHAIN_ID=31337
TRANSPORT_LABEL="vpn.dstack.io/transport"
UDP_BLOCK_CHAIN="DVPN-E2E-NO-UDP"
ALL_PHASES="cluster chain install register pings dns standalone revocation footprint operator-loss agent-restart rbac upgrade uninstall gitops node-delete"
PHASES="${PHASES:-${ALL_PHASES}}"
# anvil's well-known development accounts: public test keys, never use them anywhere else.
OWNER="0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
OWNER_KEY="0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
HOLDER="0x70997970C51812dc3A010C7d01b50e0d17dc79C8"

ensure_kubectl_on_path
require_cmd kubectl node curl

WORK="$(mktemp -d)"
# Where hack/kind-cluster.sh writes it, outside WORK so that KEEP=1 keeps a usable kubeconfig.
export KUBECONFIG_OUT="$(dstack_cache_dir)/kind/${CLUSTER}.kubeconfig"
export KUBECONFIG="${KUBECONFIG_OUT}"
STATE="$(dstack_cache_dir)/kind/${CLUSTER}.state"
RUN_LOGS="$(dstack_cache_dir)/kind/${CLUSTER}-last-run"
ANVIL_PID=""
CLOCK_PID=""
CREATED_CLUSTER=0
declare -a NODES=() WATCH_PIDS=() WATCH_NODES=()
declare -A NODE_IP=() TOKENS=() ADDR=() KEY=() PROBE=()
REVOCATION_RESULT=""
UPGRADE_RESULT=""
FOOTPRINT_RESULT=""
GATEWAY=""

cleanup() {
  local rc=$?
  set +e
  [[ -n "${CLOCK_PID}" ]] && kill "${CLOCK_PID}" 2>/dev/null
  ((${#WATCH_PIDS[@]})) && watch_stop
  standalone_stop
  ((rc != 0)) && [[ "${CREATED_CLUSTER}" == 1 || "${KEEP:-0}" == 1 ]] && dump_diagnostics
  if [[ "${KEEP:-0}" == 1 ]]; then
    declare -p GATEWAY RPC_URL CONTRACT NODES NODE_IP TOKENS ADDR KEY ANVIL_PID TCP_NODE >"${STATE}" 2>/dev/null
    log "KEEP=1: cluster ${CLUSTER} and anvil (pid ${ANVIL_PID}) kept; go on with REUSE=1 PHASES=\"...\" $0"
    log "remove them with: kill ${ANVIL_PID}; CLUSTER=${CLUSTER} hack/kind-cluster.sh delete"
  else
    if [[ -n "${ANVIL_PID}" ]]; then
      kill "${ANVIL_PID}" 2>/dev/null
      wait "${ANVIL_PID}" 2>/dev/null
    fi
    [[ "${CREATED_CLUSTER}" == 1 ]] && hack/kind-cluster.sh delete
  fi
  # The run's measurements (pings, key watchers, block clock, pod events) outlive it, for a look after a failure.
  rm -rf "${RUN_LOGS}" && mkdir -p "${RUN_LOGS}" && cp "${WORK}"/*.txt "${RUN_LOGS}/" 2>/dev/null && log "this run's measurements: ${RUN_LOGS}"
  rm -rf "${WORK}"
  [[ -n "${REVOCATION_RESULT}" ]] && log "${REVOCATION_RESULT}"
  [[ -n "${UPGRADE_RESULT}" ]] && log "${UPGRADE_RESULT}"
  [[ -n "${FOOTPRINT_RESULT}" ]] && log "${FOOTPRINT_RESULT}"
  [[ -n "${STANDALONE_RESULT}" ]] && log "${STANDALONE_RESULT}"
  if [[ ${rc} -eq 0 ]]; then log "PASS (${SECONDS} s)"; else log "FAIL (exit ${rc}, ${SECONDS} s)"; fi
  exit "${rc}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

HELM="$(dstack_cache_dir)/bin/helm"
[[ -x "${HELM}" ]] || hack/install-helm.sh
ANVIL="$(hack/install-chain-tools.sh | tail -n 1)"

KIND="$(hack/install-kind.sh | tail -n 1)"

if [[ "${REUSE:-0}" == 1 ]]; then
  [[ -f "${STATE}" ]] || die "REUSE=1 needs the state a KEEP=1 run wrote (${STATE})"
  source "${STATE}"
  KEEP=1
  if kubectl get daemonset overlay-probe -n "${NS}" >/dev/null 2>&1; then start_probes; fi
else
  TCP_NODE=""
fi

for phase in ${PHASES}; do
  [[ " ${ALL_PHASES} " == *" ${phase} "* ]] || die "unknown phase '${phase}' (phases: ${ALL_PHASES})"
  log "=== ${phase} (at ${SECONDS} s)"
  case "${phase}" in
    cluster) phase_cluster ;;
    chain) phase_chain ;;
    install) phase_install ;;
    register) phase_register ;;
    pings) phase_pings ;;
    dns) phase_dns ;;
    standalone) phase_standalone ;;
    revocation) phase_revocation ;;
    footprint) phase_footprint ;;
    operator-loss) phase_operator_loss ;;
    agent-restart) phase_agent_restart ;;
    rbac) phase_rbac ;;
    upgrade) phase_upgrade ;;
    uninstall) phase_uninstall ;;
    gitops) phase_gitops ;;
    node-delete) phase_node_delete ;;
  esac
done
