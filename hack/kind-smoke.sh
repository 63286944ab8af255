#!/usr/bin/env bash
# Smoke test of our images on a real multi-node kind cluster (what .ci/run runs; see docs/kind.md):
#   1. builds the images (hack/build-images.sh) and the cluster (hack/kind-cluster.sh create), loads the images;
#   2. every node is Ready and every kube-system pod (CoreDNS, kube-proxy, podnet, the control plane) Ready;
#   3. on every node a pod runs our agent image, the real agent with its in-memory WireGuard backend, and
#      publishes its node's VpnPeer through the API server (Service address, pod network, ServiceAccount);
#   4. on a worker a privileged pod with NET_ADMIN creates a wireguard-go interface and gives it a key.
# Prints how long each phase took. Removes the cluster and stops the Docker engine it started on exit
# (KEEP=1 keeps both; then: hack/kind-cluster.sh delete; REUSE=1 tests a kept cluster again).
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh
source hack/env.sh

export CLUSTER="${CLUSTER:-dstack-vpn-smoke}"
TAG="${TAG:-dev}"
NS=dstack-vpn-smoke
export KUBECONFIG_OUT="$(dstack_cache_dir)/kind/${CLUSTER}.kubeconfig"
AGENT_IMAGE="ghcr.io/dstack-vpn/agent:${TAG}"
ensure_kubectl_on_path   # also for the diagnostics on failure
declare -a TIMES=()
phase_start=${SECONDS}
phase() { TIMES+=("$(printf '%-34s %4d s' "$1" $((SECONDS - phase_start)))"); log "$1: $((SECONDS - phase_start)) s"; phase_start=${SECONDS}; }

cleanup() {
  local rc=$?
  set +e
  if [[ "${KEEP:-0}" == 1 ]]; then
    log "KEEP=1: cluster ${CLUSTER} kept; KUBECONFIG=${KUBECONFIG_OUT}; remove it with: CLUSTER=${CLUSTER} hack/kind-cluster.sh delete"
  else
    if [[ ${rc} -ne 0 && -f "${KUBECONFIG_OUT}" ]]; then
      kubectl get nodes,pods -A -o wide >&2
      kubectl get events -A --sort-by=.lastTimestamp 2>/dev/null | tail -n 30 >&2
    fi
    hack/kind-cluster.sh delete
  fi
  if ((${#TIMES[@]} > 0)); then log "where the time went:"; printf '  %s\n' "${TIMES[@]}" >&2; fi
  if [[ ${rc} -eq 0 ]]; then log "PASS"; else log "FAIL (exit ${rc})"; fi
  exit "${rc}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

hack/docker-engine.sh start
phase "docker engine"
SKIP_MAVEN="${SKIP_MAVEN:-0}" TAG="${TAG}" hack/build-images.sh
phase "images (jars + docker build)"
KIND="$(hack/install-kind.sh | tail -n 1)"
if [[ "${REUSE:-0}" == 1 ]] && "${KIND}" get clusters 2>/dev/null | grep -qx "${CLUSTER}"; then
  log "REUSE=1: testing the existing cluster ${CLUSTER}"
else
  hack/kind-cluster.sh create
fi
phase "kind cluster (node image + create)"
export KUBECONFIG="${KUBECONFIG_OUT}"
"${KIND}" load docker-image --name "${CLUSTER}" "ghcr.io/dstack-vpn/operator:${TAG}" "${AGENT_IMAGE}" "ghcr.io/dstack-vpn/proxy:${TAG}"
phase "kind load (3 images)"

# ------------------------------------------------------------------------------------------- 2. nodes Ready
mapfile -t NODES < <(kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | sort)
((${#NODES[@]} >= 3)) || die "expected at least 3 nodes, got ${#NODES[@]}: ${NODES[*]}"
kubectl wait --for=condition=Ready nodes --all --timeout=180s
kubectl wait --for=condition=Ready pods --all -n kube-system --timeout=180s
kubectl get nodes -o wide
kubectl get pods -n kube-system -o wide
phase "nodes and kube-system Ready"

# ------------------------------------------------------------------------------------------- 3. agent per node
kubectl apply --server-side -f crds/ >/dev/null
kubectl create namespace "${NS}" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
kubectl apply -n "${NS}" -f e2e/kind/smoke.yaml >/dev/null
for n in "${NODES[@]}"; do
  kubectl apply -n "${NS}" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: agent-${n}
  labels: {app: smoke-agent}
spec:
  nodeName: ${n}
  serviceAccountName: smoke-agent
  tolerations: [{operator: Exists}]
  restartPolicy: Never
  containers:
    - name: agent
      image: ${AGENT_IMAGE}
      imagePullPolicy: Never
      env:
        - {name: NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
        - {name: NODE_NAME, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
        - {name: NODE_IP, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}
        - {name: NETWORK, value: smoke}
        - {name: WG_BACKEND, value: memory}
        - {name: START_WIREGUARD_GO, value: "false"}
        - {name: KEY_DIR, value: /keys}
      securityContext:
        runAsNonRoot: false
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
      volumeMounts: [{name: keys, mountPath: /keys}]
  volumes: [{name: keys, emptyDir: {}}]
YAML
done
published() { # published NODE: its VpnPeer names the node and carries a 32-byte base64 key
  local spec
  spec="$(kubectl get vpnpeer -n "${NS}" "smoke-$1" -o jsonpath='{.spec.nodeName} {.spec.publicKey}' 2>/dev/null)" || return 1
  [[ "${spec}" =~ ^$1\ [A-Za-z0-9+/]{43}=$ ]]
}
deadline=$((SECONDS + 180))
for n in "${NODES[@]}"; do
  until published "${n}"; do
    if ((SECONDS > deadline)); then
      kubectl describe pod -n "${NS}" "agent-${n}" >&2 || true
      kubectl logs -n "${NS}" "agent-${n}" >&2 || true
      die "the agent on ${n} did not publish VpnPeer smoke-${n}"
    fi
    sleep 1
  done
  pod_node="$(kubectl get pod -n "${NS}" "agent-${n}" -o jsonpath='{.spec.nodeName} {.status.podIP}')"
  log "agent on ${n} (pod ${pod_node#* }) published VpnPeer smoke-${n} with key $(kubectl get vpnpeer -n "${NS}" "smoke-${n}" -o jsonpath='{.spec.publicKey}')"
done
kubectl get vpnpeers -n "${NS}" -o wide
phase "agent image on every node"

# ------------------------------------------------------------------------------------------- 4. wireguard-go
worker="${NODES[1]}"
kubectl apply -n "${NS}" -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: wireguard-go
spec:
  nodeName: ${worker}
  restartPolicy: Never
  containers:
    - name: wg
      image: ${AGENT_IMAGE}
      imagePullPolicy: Never
      command: [bash, -ec]
      args:
        - |
          WG_PROCESS_FOREGROUND=1 wireguard-go smoke0 &
          for i in \$(seq 1 50); do [ -S /var/run/wireguard/smoke0.sock ] && break; sleep 0.1; done
          umask 077; wg genkey >/tmp/key
          wg set smoke0 private-key /tmp/key listen-port 51820
          ip address add 10.99.99.1/24 dev smoke0
          ip link set smoke0 up
          ip -brief address show smoke0
          echo "public key: \$(wg show smoke0 public-key)"
          echo "listening: \$(wg show smoke0 listen-port)"
      securityContext:
        privileged: true
        capabilities: {add: [NET_ADMIN]}
YAML
if ! kubectl wait -n "${NS}" --for=jsonpath='{.status.phase}'=Succeeded pod/wireguard-go --timeout=120s; then
  kubectl describe pod -n "${NS}" wireguard-go >&2
  kubectl logs -n "${NS}" wireguard-go >&2 || true
  die "the wireguard-go pod on ${worker} did not succeed"
fi
out="$(kubectl logs -n "${NS}" wireguard-go)"
printf '%s\n' "${out}"
grep -Eq '^smoke0 +UNKNOWN +10\.99\.99\.1/24' <<<"${out}" || die "no smoke0 interface with 10.99.99.1/24 in the pod's output"
grep -Eq '^public key: [A-Za-z0-9+/]{43}=$' <<<"${out}" || die "wireguard-go's device reported no public key"
grep -q '^listening: 51820$' <<<"${out}" || die "wireguard-go's device does not listen on 51820"
log "wireguard-go created smoke0 in a privileged pod on ${worker}"
phase "wireguard-go in a privileged pod"
