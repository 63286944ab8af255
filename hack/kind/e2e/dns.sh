# shellcheck shell=bash
# DNS names on the cluster (ADR 0016): the chart's CoreDNS server block is added to the cluster's Corefile, a
# pod on the pod network resolves <node>.<network>.<domain> to each node's overlay address through CoreDNS, the
# Service <release>-dns and the agents; a revoked node's name stops resolving about when its peer leaves the
# others' devices (both measured), and comes back with a new grant. The Corefile is restored at the end.
# Reads the driver's RELEASE, NS, NETWORK, TAG, NODES, ADDR, KEY, TOKENS, WORK.

DNS_MARK_BEGIN="# BEGIN dstack-vpn kind e2e (hack/kind/e2e/dns.sh)"
DNS_MARK_END="# END dstack-vpn kind e2e"
DNS_CLIENT="dns-client"

# corefile_without_block FILE: the Corefile in FILE without a block this phase added (a KEEP=1 run that died
# halfway may have left one): the phase can run again, and the restore removes exactly what it added.
corefile_without_block() {
  awk -v b="${DNS_MARK_BEGIN}" -v e="${DNS_MARK_END}" '$0 == b { skip = 1 } !skip { print } $0 == e { skip = 0 }' "$1"
}

# set_corefile FILE: the coredns ConfigMap's Corefile becomes FILE; CoreDNS restarted (its reload plugin would take
# up to a minute or two, counting the kubelet's ConfigMap sync) and Ready.
set_corefile() {
  local patch
  patch="$(node -e 'const fs = require("fs"); console.log(JSON.stringify({data: {Corefile: fs.readFileSync(process.argv[1], "utf8")}}))' "$1")"
  kubectl patch configmap coredns -n kube-system --type merge -p "${patch}" >/dev/null
  kubectl rollout restart deployment/coredns -n kube-system >/dev/null
  kubectl rollout status deployment/coredns -n kube-system --timeout=120s
}

# resolves_to NAME ADDRESS: from the client pod (the pod network, its resolv.conf pointing at CoreDNS), NAME's
# first IPv4 address is ADDRESS. The trailing dot skips the pod's search domains.
resolves_to() {
  local got
  got="$(kubectl exec -n "${NS}" "${DNS_CLIENT}" -- getent ahostsv4 "$1." 2>/dev/null | awk 'NR == 1 { print $1 }')"
  [[ "${got}" == "$2" ]]
}
not_resolvable() { ! kubectl exec -n "${NS}" "${DNS_CLIENT}" -- getent ahostsv4 "$1." >/dev/null 2>&1; }

phase_dns() {
  local zone ip block n target=${NODES[1]} control=${NODES[0]} before t_submit t_gone t_cut out poll_pid
  kubectl get deployment coredns -n kube-system >/dev/null || die "the cluster has no CoreDNS Deployment (kube-system/coredns)"
  zone="$(kubectl get configmap "${RELEASE}-coredns" -n "${NS}" -o go-template='{{index .data "zone"}}')"
  [[ "${zone}" == "${NETWORK}."* ]] || die "ConfigMap ${RELEASE}-coredns names zone '${zone}', not one under ${NETWORK}"
  # CoreDNS forwards to an address: the Service's (docs/install.md#dns-names), in place of the chart's placeholder
  # on a first install, or already there after an upgrade.
  ip="$(kubectl get service "${RELEASE}-dns" -n "${NS}" -o jsonpath='{.spec.clusterIP}')"
  [[ -n "${ip}" ]] || die "Service ${RELEASE}-dns has no cluster IP"
  block="$(kubectl get configmap "${RELEASE}-coredns" -n "${NS}" -o go-template='{{index .data "server-block"}}' | sed "s/DNS_SERVICE_IP/${ip}/")"
  grep -q "forward . ${ip}\$" <<<"${block}" || die "the chart's server block does not forward to ${ip}: ${block}"
  log "adding the chart's server block for ${zone} to the cluster's Corefile (forward to Service ${RELEASE}-dns, ${ip})"
  kubectl get configmap coredns -n kube-system -o go-template='{{index .data "Corefile"}}' >"${WORK}/Corefile-fetched.txt"
  corefile_without_block "${WORK}/Corefile-fetched.txt" >"${WORK}/Corefile-original.txt"
  { cat "${WORK}/Corefile-original.txt"; echo "${DNS_MARK_BEGIN}"; echo "${block}"; echo "${DNS_MARK_END}"; } >"${WORK}/Corefile-dns.txt"
  set_corefile "${WORK}/Corefile-dns.txt"

  # A pod on the pod network (not the host's), like any workload; the agent image has getent (glibc's resolver).
  kubectl apply --server-side -n "${NS}" -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: ${DNS_CLIENT}
spec:
  terminationGracePeriodSeconds: 1
  tolerations: [{operator: Exists}]
  containers:
    - name: client
      image: ghcr.io/dstack-vpn/agent:${TAG}
      imagePullPolicy: Never
      command: [sleep, "3600"]
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
EOF
  kubectl wait --for=condition=Ready "pod/${DNS_CLIENT}" -n "${NS}" --timeout=120s >/dev/null
  for n in "${NODES[@]}"; do
    wait_for 120 "${n}.${zone} -> ${ADDR[${n}]} from a pod" resolves_to "${n}.${zone}" "${ADDR[${n}]}"
    log "from a pod: ${n}.${zone} -> ${ADDR[${n}]}"
  done
  if kubectl exec -n "${NS}" "${DNS_CLIENT}" -- getent ahostsv4 "no-such-node.${zone}." >/dev/null 2>&1; then
    die "no-such-node.${zone} resolves"
  fi

  # Revocation: the name goes with the peer. A watcher on the control node records when the key leaves its device
  # (wg show every 20 ms); a loop in the client pod, running before the revoke is sent, when the name stops
  # resolving (getent every 100 ms, through CoreDNS, the Service and an agent). The loop stops only while the
  # control node's name still resolves, so a DNS hiccup is not taken for the revocation.
  WATCH_PIDS=()
  WATCH_NODES=()
  watch_key "${control}" "${KEY[${target}]}" "${WORK}/dns-watch-${control}.txt"
  wait_for 60 "the key watcher on ${control}" last_state "${WORK}/dns-watch-${control}.txt" 1
  kubectl exec -n "${NS}" "${DNS_CLIENT}" -- timeout 120 sh -c '
    echo polling
    while getent ahostsv4 "$1" >/dev/null || ! getent ahostsv4 "$2" >/dev/null; do sleep 0.1; done
    date +%s%3N' poll "${target}.${zone}." "${control}.${zone}." >"${WORK}/dns-gone.txt" 2>&1 &
  poll_pid=$!
  wait_for 30 "the name poll in ${DNS_CLIENT}" grep -q polling "${WORK}/dns-gone.txt"
  before="$(generation)"
  t_submit="$(now_ms)"
  out="$(PRIVATE_KEY="${OWNER_KEY}" cli revoke "${TOKENS[${target}]}" -n "${NS}" -o json)"
  log "revoked ${target} (token ${TOKENS[${target}]}, block $(json_field block <<<"${out}"))"
  wait "${poll_pid}" || die "${target}.${zone} still resolves 120 s after its revocation: $(cat "${WORK}/dns-gone.txt")"
  t_gone="$(tail -n 1 "${WORK}/dns-gone.txt")"
  [[ "${t_gone}" =~ ^[0-9]+$ ]] || die "the name poll ended without a time: $(cat "${WORK}/dns-gone.txt")"
  ((t_gone >= t_submit)) || die "${target}.${zone} stopped resolving before the revocation was sent"
  wait_for 60 "${target}'s key gone from ${control}" last_state "${WORK}/dns-watch-${control}.txt" 0
  watch_stop
  t_cut="$(first_change_after "${WORK}/dns-watch-${control}.txt" "${t_submit}" 0)"
  [[ -n "${t_cut}" ]] || die "no cut of ${target} recorded on ${control}"
  log "revocation sent -> ${target}'s peer gone from ${control} +$((t_cut - t_submit)) ms; ${target}.${zone} unresolvable from a pod" \
    "+$((t_gone - t_submit)) ms (name - peer: $((t_gone - t_cut)) ms; polls of 20 and 100 ms)"
  # Same peer set, same moment, give or take the polls and the way through CoreDNS.
  ((t_gone - t_cut < 1000)) || die "${target}'s name outlived its peer on ${control} by $((t_gone - t_cut)) ms"
  wait_for 60 "the others applied the peer set without ${target}" applied_after "${before}" "${control}" "${NODES[2]}"

  before="$(generation)"
  TOKENS[${target}]="$(mint "${target}")"
  wait_for 120 "every node applied ${target}'s new grant" applied_after "${before}" "${NODES[@]}"
  ADDR[${target}]="$(peer_field "${NETWORK}-${target}" '{.status.address}')"
  wait_for 60 "${target}.${zone} resolving again" resolves_to "${target}.${zone}" "${ADDR[${target}]}"
  log "granted again: ${target}.${zone} -> ${ADDR[${target}]}"

  kubectl delete pod "${DNS_CLIENT}" -n "${NS}" --wait=false >/dev/null
  log "restoring the cluster's Corefile"
  set_corefile "${WORK}/Corefile-original.txt"
}
