# shellcheck shell=bash
# Revocation on the cluster, measured: a node's token is revoked and granted again REVOCATIONS times; each time,
# from the block that mined the revocation to the moment the last other node's WireGuard device no longer holds
# the node's key. Times are wall-clock ms; the kind nodes share the host's clock.

# watch_key NODE KEY OUTFILE: in NODE's agent container, polls `wg show` every 20 ms and prints
# "<epoch ms> 1|0" whenever KEY appears (1) or disappears (0). Runs in the background until watch_stop.
watch_key() {
  local node=$1 key=$2 out=$3
  # The loop ends at a stop file or after 15 minutes, so a killed test leaves no busy loop behind for long.
  kubectl exec -n "${NS}" "$(agent_pod "${node}")" -c agent -- timeout 900 sh -c '
    rm -f /tmp/e2e-watch-stop; prev=x
    while [ ! -e /tmp/e2e-watch-stop ]; do
      if wg show dvpn0 peers | grep -qxF "$1"; then s=1; else s=0; fi
      if [ "$s" != "$prev" ]; then echo "$(date +%s%3N) $s"; prev=$s; fi
      sleep 0.02
    done' watch "${key}" >"${out}" 2>&1 &
  WATCH_PIDS+=($!)
  WATCH_NODES+=("${node}")
}
watch_stop() {
  local n
  for n in "${WATCH_NODES[@]}"; do
    kubectl exec -n "${NS}" "$(agent_pod "${n}")" -c agent -- touch /tmp/e2e-watch-stop >/dev/null 2>&1 || true
  done
  ping_stop "${WATCH_PIDS[@]}"
  WATCH_PIDS=()
  WATCH_NODES=()
}
last_state() { [[ "$(tail -n 1 "$1" 2>/dev/null | awk '{ print $2 }')" == "$2" ]]; }
all_last_state() { # all_last_state STATE FILE...
  local state=$1 f
  shift
  for f in "$@"; do last_state "${f}" "${state}" || return 1; done
}
# first_change_after FILE MS STATE: the first time at or after MS the watcher saw STATE.
first_change_after() {
  awk -v t="$2" -v s="$3" '$1 >= t && $2 == s { print $1; exit }' "$1"
}
# block_seen BLOCK: when the block clock first saw BLOCK (decimal or 0x-hex).
block_seen() {
  local b
  b="$(node -p "Number(BigInt('$1'))")"
  awk -v b="${b}" '$1 == b { print $2; exit }' "${WORK}/blocks.txt"
}

phase_revocation() {
  local target=${NODES[1]} samples=${REVOCATIONS:-10} others=() files=() n i out block t_submit t_block t_cut worst line
  for n in "${NODES[@]}"; do
    [[ "${n}" == "${target}" ]] || others+=("${n}")
  done
  node hack/kind/e2e/block-clock.mjs "${RPC_URL}" >"${WORK}/blocks.txt" 2>"${WORK}/block-clock.log" &
  CLOCK_PID=$!
  WATCH_PIDS=()
  WATCH_NODES=()
  for n in "${others[@]}"; do
    watch_key "${n}" "${KEY[${target}]}" "${WORK}/watch-${n}.txt"
    files+=("${WORK}/watch-${n}.txt")
  done
  wait_for 60 "the key watchers on ${others[*]}" all_last_state 1 "${files[@]}"
  : >"${WORK}/revocation-ms.txt"
  log "revoking ${target} ${samples} times (granted again in between); the key watchers poll every 20 ms"
  for ((i = 1; i <= samples; i++)); do
    local before
    before="$(generation)"
    t_submit="$(now_ms)"
    out="$(PRIVATE_KEY="${OWNER_KEY}" cli revoke "${TOKENS[${target}]}" -n "${NS}" -o json)"
    block="$(json_field block <<<"${out}")"
    wait_for 30 "${target}'s key gone from ${others[*]}" all_last_state 0 "${files[@]}"
    t_block="$(block_seen "${block}")"
    [[ -n "${t_block}" ]] || die "the block clock never saw block ${block}"
    worst=0
    line="revocation ${i}/${samples}: token ${TOKENS[${target}]}, block ${block};"
    for n in "${others[@]}"; do
      t_cut="$(first_change_after "${WORK}/watch-${n}.txt" "${t_submit}" 0)"
      [[ -n "${t_cut}" ]] || die "no cut recorded on ${n}"
      line+=" ${n} +$((t_cut - t_block)) ms"
      ((t_cut - t_block > worst)) && worst=$((t_cut - t_block))
    done
    echo "${worst}" >>"${WORK}/revocation-ms.txt"
    log "${line}; submitted -> block $((t_block - t_submit)) ms"

    if ((i == 1)); then
      wait_for 60 "${target} Revoked" phase_is "${NETWORK}-${target}" Revoked
      wait_for 60 "the others applied the peer set without ${target}" applied_after "${before}" "${others[@]}"
      if ping_from "${NODES[0]}" "${ADDR[${target}]}"; then
        die "${NODES[0]} still reaches the revoked ${target} at ${ADDR[${target}]}"
      fi
      log "ping ${NODES[0]} -> ${target} (${ADDR[${target}]}): no answer (cut)"
      ping_from "${NODES[0]}" "${ADDR[${TCP_NODE}]}" || die "${NODES[0]} no longer reaches ${TCP_NODE} after the revocation"
      log "ping ${NODES[0]} -> ${TCP_NODE} (${ADDR[${TCP_NODE}]}): ok"
      kubectl get vpnpeers -n "${NS}" -o wide
    fi

    before="$(generation)"
    TOKENS[${target}]="$(mint "${target}")"
    wait_for 60 "${target} granted again (token ${TOKENS[${target}]})" all_last_state 1 "${files[@]}"
    wait_for 60 "every node applied ${target}'s new grant" applied_after "${before}" "${NODES[@]}"
  done
  watch_stop
  kill "${CLOCK_PID}" 2>/dev/null || true
  wait "${CLOCK_PID}" 2>/dev/null || true
  CLOCK_PID=""
  ping_from "${NODES[0]}" "${ADDR[${target}]}" || die "${NODES[0]} does not reach ${target} after its last grant"
  REVOCATION_RESULT="block mined -> cut on every other node, ${samples} revocations: p50 $(percentile 50 "${WORK}/revocation-ms.txt") ms, p99 $(percentile 99 "${WORK}/revocation-ms.txt") ms, max $(sort -n "${WORK}/revocation-ms.txt" | tail -n 1) ms (1 s blocks, pollInterval 100ms)"
  log "${REVOCATION_RESULT}"
}
