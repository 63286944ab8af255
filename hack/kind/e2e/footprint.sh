# shellcheck shell=bash
# The footprint phase (issue 19): what one agent costs on a real node, read from its container's cgroup, with the
# node proxy inside the agent's JVM (one process per node). Sourced by hack/kind-e2e.sh.

# The agent container's memory as its cgroup accounts it (v2, else v1), its processes, and its java RSS.
agent_footprint() { # agent_footprint POD: "current_kib anon_kib file_kib java_processes java_rss_kib threads"
  kubectl exec -n "${NS}" "$1" -c agent -- bash -c '
    if [[ -f /sys/fs/cgroup/memory.current ]]; then
      cur=$(( $(cat /sys/fs/cgroup/memory.current) / 1024 ))
      anon=$(( $(awk "\$1 == \"anon\" { print \$2 }" /sys/fs/cgroup/memory.stat) / 1024 ))
      file=$(( $(awk "\$1 == \"file\" { print \$2 }" /sys/fs/cgroup/memory.stat) / 1024 ))
    else
      cur=$(( $(cat /sys/fs/cgroup/memory/memory.usage_in_bytes) / 1024 ))
      anon=$(( $(awk "\$1 == \"total_rss\" { print \$2 }" /sys/fs/cgroup/memory/memory.stat) / 1024 ))
      file=$(( $(awk "\$1 == \"total_cache\" { print \$2 }" /sys/fs/cgroup/memory/memory.stat) / 1024 ))
    fi
    n=0; rss=0; threads=0
    for p in /proc/[0-9]*; do
      [[ "$(cat "$p/comm" 2>/dev/null)" == java ]] || continue
      n=$((n + 1))
      rss=$((rss + $(awk "/^VmRSS:/ { print \$2 }" "$p/status")))
      threads=$((threads + $(awk "/^Threads:/ { print \$2 }" "$p/status")))
    done
    echo "$cur $anon $file $n $rss $threads"'
}

# Seconds from the agent container's start to its pod's Ready condition (the API gives whole seconds). At install
# this includes waiting for the network's first peer set (the agent is Ready once it has one); the agent-restart
# phase measures a restart, when the peer set already exists.
agent_start_to_ready() { # agent_start_to_ready POD
  local started ready
  started="$(kubectl get pod -n "${NS}" "$1" -o jsonpath='{.status.containerStatuses[?(@.name=="agent")].state.running.startedAt}')"
  ready="$(kubectl get pod -n "${NS}" "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].lastTransitionTime}')"
  echo $(( $(date -d "${ready}" +%s) - $(date -d "${started}" +%s) ))
}

phase_footprint() {
  local n pod line cur anon file procs rss threads ready metrics accepted
  local report="${WORK}/footprint.txt"
  : > "${report}"
  for n in "${NODES[@]}"; do
    pod="$(agent_pod "${n}")"
    line="$(agent_footprint "${pod}")"
    read -r cur anon file procs rss threads <<< "${line}"
    ((procs == 1)) || die "the agent container on ${n} runs ${procs} java processes, not 1: the node proxy should run inside the agent's JVM"
    metrics="$(kubectl get --raw "/api/v1/namespaces/${NS}/pods/${pod}:9464/proxy/metrics")"
    grep -q '^dstack_vpn_proxy_connections_limit [1-9]' <<< "${metrics}" \
      || die "the agent on ${n} serves no node proxy metrics: is its proxy running in its JVM?"
    accepted="$(awk '$1 == "dstack_vpn_proxy_connections_total" { print $2 }' <<< "${metrics}")"
    if [[ "${n}" != "${TCP_NODE}" ]]; then
      # The TCP node dials every other node's proxy: each of them accepted at least that connection.
      ((accepted >= 1)) || die "the node proxy in ${n}'s agent accepted no connection from the TCP node ${TCP_NODE}"
    fi
    ready="$(agent_start_to_ready "${pod}")"
    printf '%s %s cgroup=%d KiB anon=%d KiB file=%d KiB java_processes=%d java_rss=%d KiB threads=%d proxy_connections=%s start_to_ready_since_install=%d s\n' \
      "${n}" "$([[ "${n}" == "${TCP_NODE}" ]] && echo TCP || echo UDP)" "${cur}" "${anon}" "${file}" "${procs}" "${rss}" "${threads}" \
      "${accepted}" "${ready}" | tee -a "${report}"
  done
  FOOTPRINT_RESULT="agent footprint (cgroup memory, per node): $(awk '{ printf "%s %s %s; ", $1, $2, $3 }' "${report}")"
  log "${FOOTPRINT_RESULT}"
}
