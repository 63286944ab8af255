# shellcheck shell=bash
# Helpers of the kind end-to-end test (hack/kind-e2e.sh sources this, then the phase files next to it).
# They read the run's settings from the driver: NS, NETWORK, RPC_URL, CONTRACT, CHAIN_ID, WORK, NODES, PROBE.

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

# wait_for_quietly SECONDS COMMAND...: like wait_for, but returns 1 on timeout instead of dying.
wait_for_quietly() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 1
  done
}

# now_ms: wall-clock milliseconds (the kind nodes share the host's clock, so times compare across them).
now_ms() { date +%s%3N; }

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
phase_is() { [[ "$(peer_field "$1" '{.status.phase}')" == "$2" ]]; }

# mint NODE: the contract owner registers NODE's VpnPeer (a new token for its current key); prints the token id.
mint() {
  PRIVATE_KEY="${OWNER_KEY}" cli register "${HOLDER}" --peer "${NETWORK}-$1" -n "${NS}" -o json | json_field tokenId
}

generation() { kubectl get vpnnetwork "${NETWORK}" -n "${NS}" -o jsonpath='{.status.peerSet.generation}'; }

# applied_after GEN NODE...: the peer set is past GEN and every NODE is Active and applied the current one.
applied_after() {
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

agent_pod() { # agent_pod NODE: the name of the agent pod on NODE (not one that is terminating)
  kubectl get pods -n "${NS}" -l app.kubernetes.io/component=agent --field-selector "spec.nodeName=$1" \
    -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.deletionTimestamp}{"\n"}{end}' | awk 'NF == 1 { print $1; exit }'
}

# wg_on NODE ARGS...: `wg` against NODE's WireGuard device, inside its agent container (it holds the UAPI socket).
wg_on() {
  local node=$1
  shift
  kubectl exec -n "${NS}" "$(agent_pod "${node}")" -c agent -- wg "$@"
}

# The overlay probe: a host-network pod on every node, so it sees the node's WireGuard interface like any host
# process would. The agent image carries ping (iputils-ping) for exactly this kind of check.
start_probes() {
  kubectl apply --server-side -n "${NS}" -f - <<EOF
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
      terminationGracePeriodSeconds: 1
      containers:
        - name: probe
          image: ghcr.io/dstack-vpn/agent:${TAG}
          imagePullPolicy: Never
          command: [sleep, "86400"]
          securityContext:
            capabilities: {drop: [ALL], add: [NET_RAW]}
EOF
  kubectl rollout status -n "${NS}" daemonset/overlay-probe --timeout=120s
  local n
  for n in "${NODES[@]}"; do
    PROBE[${n}]="$(kubectl get pods -n "${NS}" -l app=overlay-probe --field-selector "spec.nodeName=${n}" -o jsonpath='{.items[0].metadata.name}')"
  done
}

ping_from() { # ping_from NODE ADDRESS: three pings, true if any is answered
  kubectl exec -n "${NS}" "${PROBE[$1]}" -- ping -c 3 -W 2 "$2" >/dev/null 2>&1
}

# ping_track NODE ADDRESS OUTFILE: pings ADDRESS from NODE five times a second in the background until ping_stop,
# with ping -D -O: a line per reply and a "no answer yet for icmp_seq=N" line for each packet still unanswered
# when the next one goes out (on a busy machine a reply may simply be late). Prints the kubectl PID.
ping_track() {
  # timeout ends the ping inside the probe even if kubectl dies first; ping_stop ends the stream sooner.
  kubectl exec -n "${NS}" "${PROBE[$1]}" -- timeout -s INT 600 ping -D -O -i 0.2 "$2" >"$3" 2>&1 &
  echo $!
}
ping_stop() { # ping_stop PID...: stops the streams (the pings in the probes end with them or at their timeout)
  local p
  for p in "$@"; do kill "${p}" 2>/dev/null || true; done
  for p in "$@"; do wait "${p}" 2>/dev/null || true; done
}
# lost_times FILE: the epoch ms at which each lost packet was reported missing: a packet is lost when no reply
# ever came for its sequence number (the last 10 packets, still in flight when the stream stopped, are not judged).
lost_times() {
  awk '
    match($0, /icmp_seq=[0-9]+/) {
      seq = substr($0, RSTART + 9, RLENGTH - 9) + 0
      if (seq > last) last = seq
      if ($0 ~ /bytes from/) answered[seq] = 1
      else if ($0 ~ /no answer yet/) { t = $1; gsub(/[\[\]]/, "", t); missing[seq] = t * 1000 }
    }
    END { for (s in missing) if (!(s in answered) && s + 10 <= last) printf "%.0f\n", missing[s] }' "$1" | sort -n
}
lost_count() { lost_times "$1" | wc -l; }
replies_count() { grep -c 'bytes from' "$1" || true; }

# percentile P FILE: the P-th percentile (nearest rank) of the numbers in FILE, one per line.
percentile() {
  sort -n "$2" | awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } r = int((p * NR + 99) / 100); if (r < 1) r = 1; print v[r] }'
}

# dump_diagnostics: after a failure, what the cluster knew, into WORK (kept in the run's logs) and, briefly, on
# stdout: the custom resources, the peer sets, recent events, each operator's log after a thread dump (SIGQUIT makes
# the JVM print one to its log), and the agents' last lines. Best effort: a step that fails is skipped.
dump_diagnostics() {
  kubectl get nodes -o wide >"${WORK}/diag-nodes.txt" 2>&1 || return 0
  kubectl get vpnnetworks,vpnpeers -A -o yaml >"${WORK}/diag-resources.txt" 2>&1
  kubectl get configmaps -A -l vpn.dstack.io/component=peerset -o yaml >"${WORK}/diag-peersets.txt" 2>&1
  kubectl get events -A --sort-by=.lastTimestamp >"${WORK}/diag-events.txt" 2>&1
  local pod
  for pod in $(kubectl get pods -A -l app.kubernetes.io/component=operator -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{" "}{end}' 2>/dev/null); do
    kubectl exec -n "${pod%/*}" "${pod#*/}" -- bash -c 'kill -QUIT 1' >/dev/null 2>&1 && sleep 1
    kubectl logs -n "${pod%/*}" "${pod#*/}" --tail=2000 >"${WORK}/diag-operator-${pod#*/}.txt" 2>&1
    echo "--- last lines of operator ${pod} (the rest and a thread dump: ${RUN_LOGS}/diag-operator-${pod#*/}.txt)"
    grep -v '^\s' "${WORK}/diag-operator-${pod#*/}.txt" | grep -vE '^"|^$|^Full thread dump|^JNI|^Heap|^ def|^ tenured|^ the space|^ Metaspace|^ class space' | tail -n 40
  done
  for pod in $(kubectl get pods -A -l app.kubernetes.io/component=agent -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{" "}{end}' 2>/dev/null); do
    kubectl logs -n "${pod%/*}" "${pod#*/}" -c agent --tail=300 >"${WORK}/diag-agent-${pod#*/}.txt" 2>&1
  done
  for pod in $(kubectl get pods -A -l app.kubernetes.io/component=node-api -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{" "}{end}' 2>/dev/null); do
    kubectl logs -n "${pod%/*}" "${pod#*/}" --tail=300 >"${WORK}/diag-node-api-${pod#*/}.txt" 2>&1
  done
  echo "--- VpnNetworks:"
  kubectl get vpnnetworks -A -o wide 2>&1 | head -n 10
}
