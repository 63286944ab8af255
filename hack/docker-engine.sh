#!/usr/bin/env bash
# Starts or stops a Docker engine for the kind scripts, leaving the machine as it found it.
#
#   hack/docker-engine.sh start   use the running engine if `docker info` answers (an ordinary laptop: nothing
#                                 else happens); otherwise install Debian's docker.io if dockerd is missing,
#                                 record the iptables rules, the forwarding sysctls and the network links, and
#                                 start dockerd in the background (its PID in ${RUN_DIR}/dockerd.pid).
#   hack/docker-engine.sh stop    only if `start` started dockerd: stops it (TERM, then KILL after 30 s), deletes
#                                 the bridges it created and restores the recorded iptables rules and sysctls.
#   hack/docker-engine.sh status  prints whether an engine answers and who started it.
#
# Why the runc wrapper: `docker run --privileged` (what kind does for every node) asks runc for every
# capability, and runc fails with "unable to apply caps" when one of them is missing from this machine's
# bounding set (our CI machines lack CAP_SYS_RESOURCE). Only when CapBnd really lacks a capability, dockerd gets
# hack/runc-capfix as its default runtime: it removes the missing capabilities from the OCI spec, then runs
# runc. A machine whose bounding set is complete never sees the wrapper.
#
# Environment: RUN_DIR (/run/dstack-vpn-docker), DOCKER_DATA_ROOT (dockerd's default, /var/lib/docker).
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh

RUN_DIR="${RUN_DIR:-/run/dstack-vpn-docker}"
PID_FILE="${RUN_DIR}/dockerd.pid"
STARTED_MARK="${RUN_DIR}/started-by-us"

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

# missing_capabilities: the names of the capabilities runc knows that this process's bounding set lacks.
missing_capabilities() {
  local bnd names=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE
    NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE
    SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE
    AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF
    CHECKPOINT_RESTORE)
  bnd=$((16#$(awk '/^CapBnd:/ {print $2}' /proc/self/status)))
  local i
  for i in "${!names[@]}"; do
    (( (bnd >> i) & 1 )) || printf 'CAP_%s\n' "${names[$i]}"
  done
}

install_engine() {
  command -v dockerd >/dev/null 2>&1 && command -v jq >/dev/null 2>&1 && return 0
  [[ "$(id -u)" == 0 ]] || die "no Docker engine answers and dockerd is not installed: install Docker (or run as root to install Debian's docker.io)"
  require_cmd apt-get
  log "installing Debian's docker.io (dockerd, containerd, runc) and jq"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends docker.io jq iptables >&2; then
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends docker.io jq iptables >&2
  fi
}

record_state() {
  mkdir -p "${RUN_DIR}"
  iptables-save >"${RUN_DIR}/iptables.before"
  ip6tables-save >"${RUN_DIR}/ip6tables.before" 2>/dev/null || true
  : >"${RUN_DIR}/sysctl.before"
  local k
  for k in net/ipv4/ip_forward net/bridge/bridge-nf-call-iptables net/bridge/bridge-nf-call-ip6tables; do
    [[ -f "/proc/sys/${k}" ]] && printf '%s %s\n' "${k}" "$(cat "/proc/sys/${k}")" >>"${RUN_DIR}/sysctl.before"
  done
  ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort >"${RUN_DIR}/links.before"
}

restore_state() {
  local t cmd
  for cmd in iptables ip6tables; do
    [[ -f "${RUN_DIR}/${cmd}.before" ]] || continue
    for t in filter nat mangle raw; do
      "${cmd}" -t "${t}" -F 2>/dev/null || true
      "${cmd}" -t "${t}" -X 2>/dev/null || true
    done
    for chain in INPUT FORWARD OUTPUT; do "${cmd}" -P "${chain}" ACCEPT 2>/dev/null || true; done
    "${cmd}-restore" <"${RUN_DIR}/${cmd}.before" || log "warning: ${cmd}-restore failed"
    # With the nf_tables backend a table docker created stays behind, empty: remove those that were not there.
    if "${cmd}" -V 2>/dev/null | grep -q nf_tables && command -v nft >/dev/null 2>&1; then
      local family=ip
      [[ "${cmd}" == ip6tables ]] && family=ip6
      for t in filter nat mangle raw; do
        grep -qx "\*${t}" "${RUN_DIR}/${cmd}.before" || nft delete table "${family}" "${t}" 2>/dev/null || true
      done
    fi
  done
  if [[ -f "${RUN_DIR}/sysctl.before" ]]; then
    while read -r k v; do
      [[ -f "/proc/sys/${k}" ]] && echo "${v}" >"/proc/sys/${k}"
    done <"${RUN_DIR}/sysctl.before"
  fi
  if [[ -f "${RUN_DIR}/links.before" ]]; then
    local link
    while read -r link; do
      [[ "${link}" == docker0 || "${link}" == br-* ]] || continue
      ip link delete "${link}" 2>/dev/null && log "deleted bridge ${link}"
    done < <(comm -13 "${RUN_DIR}/links.before" <(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort))
  fi
}

start() {
  if engine_answers; then
    log "a Docker engine answers already: using it ($(docker version -f '{{.Server.Version}}' 2>/dev/null))"
    return 0
  fi
  install_engine
  require_cmd dockerd iptables-save iptables-restore jq
  [[ "$(id -u)" == 0 ]] || die "need root to start dockerd"
  if [[ -f "${PID_FILE}" ]] && kill -0 "$(cat "${PID_FILE}")" 2>/dev/null; then
    die "dockerd $(cat "${PID_FILE}") is running but does not answer: see ${RUN_DIR}/dockerd.log, or run: $0 stop"
  fi
  record_state
  local args=(--pidfile "${PID_FILE}" --host unix:///var/run/docker.sock)
  [[ -n "${DOCKER_DATA_ROOT:-}" ]] && args+=(--data-root "${DOCKER_DATA_ROOT}")
  mapfile -t missing < <(missing_capabilities)
  if ((${#missing[@]} > 0)); then
    local runc
    runc="$(command -v runc)" || die "runc not found"
    printf '%s\n' "${missing[@]}" >"${RUN_DIR}/missing-capabilities"
    # The wrapper rewrites every container's spec: check it on sample specs before dockerd gets it.
    hack/kind/tests/runc-capfix-test.sh >&2 || die "hack/runc-capfix failed its self-test"
    log "this machine's capability bounding set lacks ${missing[*]}: dockerd runs containers through hack/runc-capfix"
    # dockerd does not pass its environment down to the runtime: the settings live in a small launcher.
    cat >"${RUN_DIR}/runc-capfix" <<LAUNCHER
#!/bin/sh
RUNC_CAPFIX_REAL='${runc}' RUNC_CAPFIX_DROP='${missing[*]}' exec '$(pwd)/hack/runc-capfix' "\$@"
LAUNCHER
    chmod 0755 "${RUN_DIR}/runc-capfix"
    args+=(--add-runtime "capfix=${RUN_DIR}/runc-capfix" --default-runtime capfix)
  fi
  touch "${STARTED_MARK}"
  log "starting dockerd (log: ${RUN_DIR}/dockerd.log)"
  setsid dockerd "${args[@]}" >"${RUN_DIR}/dockerd.log" 2>&1 </dev/null &
  local deadline=$((SECONDS + 60))
  until engine_answers; do
    if ((SECONDS > deadline)); then tail -n 20 "${RUN_DIR}/dockerd.log" >&2; die "dockerd did not answer within 60 s"; fi
    sleep 0.5
  done
  log "dockerd $(cat "${PID_FILE}") answers: $(docker version -f '{{.Server.Version}}'), storage $(docker info -f '{{.Driver}}'), cgroup $(docker info -f '{{.CgroupDriver}} v{{.CgroupVersion}}')"
}

stop() {
  if [[ ! -f "${STARTED_MARK}" ]]; then
    log "dockerd was not started by $0: leaving the engine alone"
    return 0
  fi
  local pid=""
  [[ -f "${PID_FILE}" ]] && pid="$(cat "${PID_FILE}")"
  if [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null; then
    log "stopping dockerd ${pid}"
    kill -TERM "${pid}"
    local deadline=$((SECONDS + 30))
    while kill -0 "${pid}" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
    kill -0 "${pid}" 2>/dev/null && { log "dockerd ignored TERM: KILL"; kill -KILL "${pid}"; }
  fi
  # dockerd 20.10 runs its own containerd; if dockerd died hard, that child may be left behind.
  pkill -TERM -f "containerd --config /var/run/docker/containerd/containerd.toml" 2>/dev/null || true
  restore_state
  rm -f "${STARTED_MARK}" "${PID_FILE}"
  log "dockerd stopped; iptables rules, sysctls and links restored"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status)
    if engine_answers; then echo "engine: answers"; else echo "engine: not answering"; fi
    [[ -f "${STARTED_MARK}" ]] && echo "started by $0 (pid $(cat "${PID_FILE}" 2>/dev/null))" || true ;;
  *) die "usage: $0 start|stop|status" ;;
esac
