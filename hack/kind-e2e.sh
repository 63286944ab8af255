#!/usr/bin/env bash
# End-to-end test of the product on a kind cluster: the chart, the images, mint, pings, revoke.
#
# Not yet part of CI (the next step after hack/kind-smoke.sh, which CI runs). It builds on the same pieces:
# hack/build-images.sh (the images, with no registry where none answers) and hack/kind-cluster.sh (a Docker
# engine if none answers, and the cluster; on machines without a registry the node image is built here).
#
# What it does (everything it creates is removed on exit, Ctrl-C included; KEEP=1 keeps the cluster):
#   1. builds the images (tag $TAG), creates a kind cluster (a control plane and two workers) and loads them;
#   2. starts anvil (hack/install-chain-tools.sh) on the host, on the kind network's gateway address so the
#      nodes reach it, and deploys the access NFT (contracts/build/DstackAccessNFT.json) from anvil's account 0;
#   3. installs the chart (agents on every node, the proxy forwarding to the first worker's WireGuard port) and
#      creates the VpnNetwork "mesh" that follows the contract;
#   4. mints a token for each node's VpnPeer with the CLI (cli/bin/dstack-vpn register);
#   5. pings every pair of nodes across the overlay from a host-network probe pod on each node (kubectl exec);
#   6. revokes one node's token and checks that it is cut off while the others still talk.
#
# Needs: kubectl, node, curl, a JDK 21+ (hack/env.sh), Linux amd64 (the anvil binary); Docker, kind and helm
# are installed by the scripts above if missing.
# Settings: CLUSTER (dstack-vpn-e2e), TAG (dev), KIND_NODE_IMAGE (see hack/kind-cluster.sh), ANVIL_PORT (8545),
# KEEP (0), SKIP_BUILD (0: reuse images already built).
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh
source hack/env.sh

export CLUSTER="${CLUSTER:-dstack-vpn-e2e}"
TAG="${TAG:-dev}"
NS="dstack-vpn"
RELEASE="dstack-vpn"
NETWORK="mesh"
ANVIL_PORT="${ANVIL_PORT:-8545}"
CHAIN_ID=31337
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
ANVIL_PID=""
CREATED_CLUSTER=0

cleanup() {
  local rc=$?
  set +e
  if [[ -n "${ANVIL_PID}" ]]; then
    kill "${ANVIL_PID}" 2>/dev/null
    wait "${ANVIL_PID}" 2>/dev/null
  fi
  if [[ "${CREATED_CLUSTER}" == 1 ]]; then
    if [[ "${KEEP:-0}" == 1 ]]; then
      log "KEEP=1: cluster ${CLUSTER} kept (anvil is stopped). Remove it with: CLUSTER=${CLUSTER} hack/kind-cluster.sh delete"
    else
      hack/kind-cluster.sh delete
    fi
  fi
  rm -rf "${WORK}"
  if [[ ${rc} -eq 0 ]]; then log "PASS"; else log "FAIL (exit ${rc})"; fi
  exit "${rc}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for SECONDS DESCRIPTION COMMAND...: retries COMMAND every second until it succeeds.
wait_for() {
  local timeout=$1 what=$2
  shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out after ${timeout}s waiting for ${what}"
    sleep 1
  done
}

# rpc METHOD PARAMS_JSON: one JSON-RPC call to anvil; prints the result (strings bare, the rest as JSON).
rpc() {
  curl -sS --fail -H 'content-type: application/json' \
    --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "${RPC_URL}" \
    | node -e '
      let s = ""; process.stdin.on("data", d => s += d).on("end", () => {
        const r = JSON.parse(s);
        if (r.error) { console.error("rpc error: " + JSON.stringify(r.error)); process.exit(1); }
        console.log(typeof r.result === "string" ? r.result : JSON.stringify(r.result));
      });'
}

# json_field FIELD: reads one JSON object on stdin, prints its FIELD.
json_field() {
  node -e 'let s = ""; process.stdin.on("data", d => s += d).on("end", () => console.log(JSON.parse(s)[process.argv[1]] ?? ""));' "$1"
}

# The CLI with the chain settings of this run (PRIVATE_KEY only where a command signs).
cli() {
  DSTACK_RPC_URL="${RPC_URL}" DSTACK_CONTRACT="${CONTRACT}" DSTACK_CHAIN_ID="${CHAIN_ID}" cli/bin/dstack-vpn "$@"
}

peer_field() { # peer_field PEER JSONPATH
  kubectl get vpnpeer "$1" -n "${NS}" -o "jsonpath=$2"
}

HELM="$(dstack_cache_dir)/bin/helm"
[[ -x "${HELM}" ]] || hack/install-helm.sh
ANVIL="$(hack/install-chain-tools.sh | tail -n 1)"

# ---------------------------------------------------------------------------------------------- 1. images, cluster
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  hack/docker-engine.sh start
  TAG="${TAG}" hack/build-images.sh
  ./mvnw -B -q -DskipTests -pl cli -am package
fi
CREATED_CLUSTER=1
hack/kind-cluster.sh create
KIND="$(hack/install-kind.sh | tail -n 1)"
"${KIND}" load docker-image --name "${CLUSTER}" "ghcr.io/dstack-vpn/operator:${TAG}" "ghcr.io/dstack-vpn/agent:${TAG}" \
  "ghcr.io/dstack-vpn/proxy:${TAG}"

mapfile -t NODES < <(kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | sort)
for n in "${NODES[@]}"; do
  # wireguard-go needs the tun device; kind nodes are privileged containers and may lack the node.
  docker exec "${n}" sh -c 'test -c /dev/net/tun || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; }'
done

# ---------------------------------------------------------------------------------------------- 2. chain
GATEWAY="$(docker network inspect kind -f '{{range .IPAM.Config}}{{.Gateway}} {{end}}' | tr ' ' '\n' | grep -E '^[0-9.]+$' | head -n 1)"
[[ -n "${GATEWAY}" ]] || die "no IPv4 gateway on the docker network 'kind'"
RPC_URL="http://${GATEWAY}:${ANVIL_PORT}"
log "starting anvil on ${RPC_URL} (chain id ${CHAIN_ID}, a block per second)"
"${ANVIL}" --host "${GATEWAY}" --port "${ANVIL_PORT}" --chain-id "${CHAIN_ID}" --block-time 1 >"${WORK}/anvil.log" 2>&1 &
ANVIL_PID=$!
wait_for 30 "anvil" rpc eth_chainId '[]'

log "deploying the access NFT from ${OWNER}"
bytecode="$(node -p 'require("./contracts/build/DstackAccessNFT.json").bytecode')"
tx="$(rpc eth_sendTransaction "[{\"from\":\"${OWNER}\",\"data\":\"${bytecode}\"}]")"
mined() { [[ "$(rpc eth_getTransactionReceipt "[\"$1\"]")" != null ]]; }
wait_for 30 "the deployment receipt" mined "${tx}"
CONTRACT="$(rpc eth_getTransactionReceipt "[\"${tx}\"]" | json_field contractAddress)"
[[ "${CONTRACT}" =~ ^0x[0-9a-fA-F]{40}$ ]] || die "deployment failed: ${CONTRACT}"
log "contract ${CONTRACT}"

# ---------------------------------------------------------------------------------------------- 3. chart + network
worker_ip="$(kubectl get node "${NODES[1]}" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')"
proxy_args=(--set proxy.enabled=true --set "proxy.forward=${worker_ip}:51820")
log "installing the chart (release ${RELEASE}, namespace ${NS})"
"${HELM}" upgrade --install "${RELEASE}" helm/dstack-vpn --namespace "${NS}" --create-namespace \
  --set "imageTag=${TAG}" --set "agent.network=${NETWORK}" "${proxy_args[@]}"

kubectl apply --server-side -n "${NS}" -f - <<EOF
apiVersion: vpn.dstack.io/v1alpha1
kind: VpnNetwork
metadata:
  name: ${NETWORK}
spec:
  cidr: 10.99.0.0/24
  topology: {mode: Mesh}
  access:
    chain:
      chainId: ${CHAIN_ID}
      rpcUrls: ["${RPC_URL}"]
      contractAddress: "${CONTRACT}"
      grantConfirmations: 1
      pollInterval: 500ms
EOF
kubectl rollout status -n "${NS}" "deployment/${RELEASE}-operator" --timeout=180s
kubectl rollout status -n "${NS}" "daemonset/${RELEASE}-agent" --timeout=180s
kubectl rollout status -n "${NS}" "deployment/${RELEASE}-proxy" --timeout=180s

# ---------------------------------------------------------------------------------------------- 4. register
has_reason() { [[ "$(peer_field "$1" '{.status.reason}')" == "$2" ]]; }
for n in "${NODES[@]}"; do
  wait_for 120 "VpnPeer ${NETWORK}-${n} waiting for a token" has_reason "${NETWORK}-${n}" NoToken
done
cli pending -n "${NS}"

declare -A TOKENS
for n in "${NODES[@]}"; do
  TOKENS[${n}]="$(PRIVATE_KEY="${OWNER_KEY}" cli register "${HOLDER}" --peer "${NETWORK}-${n}" -n "${NS}" -o json | json_field tokenId)"
  log "${n}: token ${TOKENS[${n}]}"
done

generation() { kubectl get vpnnetwork "${NETWORK}" -n "${NS}" -o jsonpath='{.status.peerSet.generation}'; }
applied_after() { # applied_after GEN NODE...: the peer set is past GEN and every NODE is Active and applied it
  local min=$1 gen n
  shift
  gen="$(generation)"
  [[ -n "${gen}" && "${gen}" -gt "${min}" ]] || return 1
  for n in "$@"; do
    [[ "$(peer_field "${NETWORK}-${n}" '{.status.phase}')" == Active ]] || return 1
    [[ -n "$(peer_field "${NETWORK}-${n}" '{.status.address}')" ]] || return 1
    [[ "$(peer_field "${NETWORK}-${n}" '{.status.applied.generation}')" == "${gen}" ]] || return 1
  done
}
wait_for 180 "every node Active and applied" applied_after 0 "${NODES[@]}"
kubectl get vpnnetworks,vpnpeers -n "${NS}" -o wide

# ---------------------------------------------------------------------------------------------- 5. pings
kubectl apply --server-side -n "${NS}" -f - <<EOF
# A host-network pod on every node: it sees the node's WireGuard interface, like any host process would.
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: overlay-probe
spec:
  selector:
    matchLabels: {app: overlay-probe}
  template:
    metadata:
      labels: {app: overlay-probe}
    spec:
      hostNetwork: true
      tolerations: [{operator: Exists}]
      containers:
        - name: probe
          # The agent image carries ping (iputils-ping) for exactly this kind of check.
          image: ghcr.io/dstack-vpn/agent:${TAG}
          imagePullPolicy: Never
          command: [sleep, "86400"]
          securityContext:
            capabilities: {drop: [ALL], add: [NET_RAW]}
EOF
kubectl rollout status -n "${NS}" daemonset/overlay-probe --timeout=120s

declare -A PROBE ADDR
for n in "${NODES[@]}"; do
  PROBE[${n}]="$(kubectl get pods -n "${NS}" -l app=overlay-probe --field-selector "spec.nodeName=${n}" -o jsonpath='{.items[0].metadata.name}')"
  ADDR[${n}]="$(peer_field "${NETWORK}-${n}" '{.status.address}')"
done
ping_from() { # ping_from NODE ADDRESS
  kubectl exec -n "${NS}" "${PROBE[$1]}" -- ping -c 3 -W 2 "$2" >/dev/null 2>&1
}
for from in "${NODES[@]}"; do
  for to in "${NODES[@]}"; do
    [[ "${from}" == "${to}" ]] && continue
    # The first packets may wait for the WireGuard handshake: allow a few tries.
    wait_for 30 "ping ${from} -> ${to} (${ADDR[${to}]})" ping_from "${from}" "${ADDR[${to}]}"
    log "ping ${from} -> ${to} (${ADDR[${to}]}): ok"
  done
done
docker exec "${NODES[0]}" ip -brief address show dvpn0

proxy_pod="$(kubectl get pods -n "${NS}" -l app.kubernetes.io/component=proxy -o jsonpath='{.items[0].metadata.name}')"
kubectl get --raw "/api/v1/namespaces/${NS}/pods/${proxy_pod}:9102/proxy/metrics" | grep -q '^dstack_vpn_proxy_connections_total' \
  || die "the proxy's /metrics has no dstack_vpn_proxy_connections_total"
log "proxy ${RELEASE}-proxy is ready and serves its metrics"

# ---------------------------------------------------------------------------------------------- 6. revoke
cut="${NODES[2]}"
log "revoking ${cut}'s token ${TOKENS[${cut}]}"
before="$(generation)"
PRIVATE_KEY="${OWNER_KEY}" cli revoke "${TOKENS[${cut}]}" -n "${NS}"
start=${SECONDS}
phase_is() { [[ "$(peer_field "$1" '{.status.phase}')" == "$2" ]]; }
wait_for 60 "${cut} Revoked" phase_is "${NETWORK}-${cut}" Revoked
wait_for 60 "the others applied the peer set without ${cut}" applied_after "${before}" "${NODES[0]}" "${NODES[1]}"
log "${cut} revoked and removed from the other nodes within $((SECONDS - start)) s"
if ping_from "${NODES[0]}" "${ADDR[${cut}]}"; then
  die "${NODES[0]} still reaches the revoked ${cut} at ${ADDR[${cut}]}"
fi
log "ping ${NODES[0]} -> ${cut} (${ADDR[${cut}]}): no answer (cut)"
ping_from "${NODES[0]}" "${ADDR[${NODES[1]}]}" || die "${NODES[0]} no longer reaches ${NODES[1]} after the revocation"
log "ping ${NODES[0]} -> ${NODES[1]} (${ADDR[${NODES[1]}]}): ok"
kubectl get vpnpeers -n "${NS}" -o wide
