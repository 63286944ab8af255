# shellcheck shell=bash
# Day-2 phases of hack/kind-e2e.sh: helm upgrade under traffic, helm uninstall, and the same product from Git
# (kubectl apply -k of a config/ overlay) in a fresh namespace.

# restart_windows EVENTS: per node, "<node> <from ms> <to ms>": from the moment its old agent pod was marked for
# deletion to the moment a new agent pod on that node was ready (EVENTS: lines "<ms> <pod> <node> <deleted> <ready>",
# <deleted> being "-" or the deletion timestamp followed by "-").
restart_windows() {
  awk '
    $3 == "-" { next } # a new pod before it is scheduled
    { t = $1; pod = $2; node = $3; deleted = ($4 != "-"); ready = ($5 == "true") }
    deleted && !(node in from) { from[node] = t; old[node] = pod }
    (node in from) && !(node in to) && pod != old[node] && ready { to[node] = t }
    END { for (n in from) printf "%s %.0f %.0f\n", n, from[n], (n in to ? to[n] : 9999999999999) }' "$1"
}

phase_upgrade() {
  local tag2="${TAG}-upgrade" img from to f pids=() events_pid total=0 outside=0 lost out_pair win_from win_to outside_times=""
  for img in operator agent proxy; do
    docker tag "ghcr.io/dstack-vpn/${img}:${TAG}" "ghcr.io/dstack-vpn/${img}:${tag2}"
  done
  "${KIND}" load docker-image --name "${CLUSTER}" "ghcr.io/dstack-vpn/operator:${tag2}" "ghcr.io/dstack-vpn/agent:${tag2}" \
    "ghcr.io/dstack-vpn/proxy:${tag2}" >/dev/null
  for img in operator agent proxy; do # the nodes have them now; the host keeps only the real tag
    docker rmi "ghcr.io/dstack-vpn/${img}:${tag2}" >/dev/null
  done

  # Count from a mesh where every pair talks, so that an earlier phase's recovery is not charged to the upgrade.
  ping_all_pairs
  # Agent pod events with the time we saw them, to know when each node's agent was restarting.
  kubectl get pods -n "${NS}" -l app.kubernetes.io/component=agent --watch \
    -o jsonpath='{.metadata.name} {.spec.nodeName} {.metadata.deletionTimestamp}- {.status.containerStatuses[0].ready}{"\n"}' \
    | while read -r pod node deleted ready; do echo "$(now_ms) ${pod} ${node} ${deleted} ${ready}"; done >"${WORK}/agent-events.txt" &
  events_pid=$!
  for from in "${NODES[@]}"; do
    for to in "${NODES[@]}"; do
      [[ "${from}" == "${to}" ]] && continue
      pids+=("$(ping_track "${from}" "${ADDR[${to}]}" "${WORK}/upgrade-${from}-${to}.txt")")
    done
  done
  sleep 3
  log "helm upgrade: image tag ${TAG} -> ${tag2}, log level INFO -> DEBUG, under pings between every pair of nodes"
  "${HELM}" upgrade "${RELEASE}" helm/dstack-vpn --namespace "${NS}" --reuse-values \
    --set "imageTag=${tag2}" --set operator.logLevel=DEBUG --set agent.logLevel=DEBUG
  kubectl rollout status -n "${NS}" "deployment/${RELEASE}-operator" --timeout=180s
  kubectl rollout status -n "${NS}" "daemonset/${RELEASE}-agent" --timeout=300s
  kubectl rollout status -n "${NS}" "deployment/${RELEASE}-proxy" --timeout=180s
  # The last agent to restart must be back on the overlay before we stop counting.
  ping_all_pairs
  sleep 3
  ping_stop "${pids[@]}"
  kill "${events_pid}" 2>/dev/null || true
  pkill -f "kubectl get pods -n ${NS} -l app.kubernetes.io/component=agent --watch" 2>/dev/null || true
  wait "${events_pid}" 2>/dev/null || true

  # What the roll changed: every pod runs the new tag, with the new log level.
  [[ "$(kubectl get deployment -n "${NS}" "${RELEASE}-operator" -o jsonpath='{.spec.template.spec.containers[0].image}')" == *":${tag2}" ]] \
    || die "the operator does not run ${tag2} after the upgrade"
  kubectl get deployment -n "${NS}" "${RELEASE}-operator" -o jsonpath='{.spec.template.spec.containers[0].env}' | grep -q '"DEBUG"' \
    || die "the operator's log level did not change"
  [[ "$(kubectl get pods -n "${NS}" -l app.kubernetes.io/component=agent -o jsonpath='{range .items[*]}{.spec.containers[0].image}{"\n"}{end}' | sort -u)" == *":${tag2}" ]] \
    || die "not every agent runs ${tag2} after the upgrade"
  kubectl get daemonset -n "${NS}" "${RELEASE}-agent" -o jsonpath='{.spec.template.spec.containers[0].env}' | grep -q 'defaultLogLevel=debug' \
    || die "the agents' log level did not change"

  # Lost pings, split by whether one end's agent was restarting at the time (with 15 s after it was ready
  # again: the other end keeps its old WireGuard session until its handshake timer fires).
  restart_windows "${WORK}/agent-events.txt" >"${WORK}/restart-windows.txt"
  cat "${WORK}/restart-windows.txt" >&2
  UPGRADE_RESULT=""
  for from in "${NODES[@]}"; do
    for to in "${NODES[@]}"; do
      [[ "${from}" == "${to}" ]] && continue
      f="${WORK}/upgrade-${from}-${to}.txt"
      lost="$(lost_count "${f}")"
      out_pair=0
      while read -r t; do
        local during=0 n
        for n in "${from}" "${to}"; do
          read -r win_from win_to < <(awk -v n="${n}" '$1 == n { print $2, $3 }' "${WORK}/restart-windows.txt")
          [[ -n "${win_from}" ]] && ((t >= win_from - 1000 && t <= win_to + 15000)) && during=1
        done
        if ((!during)); then
          out_pair=$((out_pair + 1))
          outside_times+="${from#*-e2e-}->${to#*-e2e-}@${t} "
        fi
      done < <(lost_times "${f}")
      total=$((total + lost))
      outside=$((outside + out_pair))
      log "upgrade: ping ${from} -> ${to}: $(replies_count "${f}") answered, ${lost} lost (${out_pair} while neither end's agent restarted)"
      (($(replies_count "${f}") > 0)) || die "no ping ${from} -> ${to} was answered during the upgrade"
    done
  done
  UPGRADE_RESULT="helm upgrade under pings (5/s per ordered pair): ${total} lost in all, ${outside} while neither end's agent was restarting (goal 0)"
  log "${UPGRADE_RESULT}"
  # A measurement with a goal, not a pass/fail line (issue 13 asks to record it); the failures are above: a pair
  # that never answered, pods without the new tag or level, or pairs that do not ping after the roll.
  ((outside == 0)) || log "WARNING: ${outside} pings lost outside the restart windows (epoch ms): ${outside_times}"
}

phase_uninstall() {
  local allowed n
  kubectl delete daemonset overlay-probe -n "${NS}" --wait=true --timeout=60s
  log "helm uninstall ${RELEASE}"
  "${HELM}" uninstall "${RELEASE}" --namespace "${NS}" --wait --timeout 180s
  no_pods() { [[ -z "$(kubectl get pods -n "${NS}" -o name)" ]]; }
  wait_for 120 "every pod of the release gone" no_pods
  # Documented leftovers (docs/install.md): the CRDs and the custom resources (with the ConfigMaps the VpnNetworks
  # own: peer sets, chain checkpoints), the operator's leader Lease, Events, what every namespace has, and the node
  # API's key (kept on purpose: outside nodes' bundles pin its public half).
  allowed='^(vpnnetwork|vpnpeer)\.vpn\.dstack\.io/|^configmap/(kube-root-ca\.crt|'"${NETWORK}"'-(peerset|chain).*)$|^serviceaccount/default$|^event(\.events\.k8s\.io)?/|^lease\.coordination\.k8s\.io/dstack-vpn-operator$|^secret/'"${RELEASE}"'-node-api-key$'
  leftovers() {
    local r name
    while read -r r; do
      while read -r name; do
        [[ -z "${name}" ]] || grep -qE "${allowed}" <<<"${name}" || echo "${name}"
      done < <(kubectl get "${r}" -n "${NS}" -o name 2>/dev/null)
    done < <(kubectl api-resources --verbs=list --namespaced -o name)
    for r in clusterroles clusterrolebindings validatingadmissionpolicies validatingadmissionpolicybindings; do
      kubectl get "${r}" -o name | grep -F "${RELEASE}" || true
    done
  }
  no_leftovers() { [[ -z "$(leftovers)" ]]; }
  # Garbage collection (EndpointSlices of the deleted Services, ...) may take a moment.
  if ! wait_for_quietly 60 no_leftovers; then
    die "helm uninstall left behind: $(leftovers | tr '\n' ' ')"
  fi
  kubectl get crd vpnnetworks.vpn.dstack.io vpnpeers.vpn.dstack.io -o name
  for n in "${NODES[@]}"; do
    if docker exec "${n}" ip link show dvpn0 >/dev/null 2>&1; then
      die "dvpn0 is still on ${n} after the uninstall"
    fi
  done
  log "helm uninstall left only the CRDs, the custom resources and the leader Lease (as documented); no dvpn0 on any node"
}

phase_gitops() {
  local overlay="${WORK}/gitops" rel n rc
  unblock_udp "${TCP_NODE}" # the kustomize base runs every node on UDP (no transport label)
  # What a fresh cluster has: neither our namespace nor our CRDs (Helm's field ownership of the CRDs would
  # otherwise conflict with kubectl's server-side apply; see docs/install.md for moving from Helm to GitOps).
  log "deleting namespace ${NS} and the CRDs, then installing from config/overlays/anvil-local with kubectl apply -k"
  kubectl delete namespace "${NS}" --wait=true --timeout=180s
  kubectl delete crd vpnnetworks.vpn.dstack.io vpnpeers.vpn.dstack.io --wait=true --timeout=120s
  mkdir -p "${overlay}"
  rel="$(realpath --relative-to="${overlay}" config/overlays/anvil-local)"
  # Only what may differ on this machine: this run's image tag, the anvil address (and its allow-list entry) and
  # the contract.
  cat >"${overlay}/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ${rel}
images:
  - {name: ghcr.io/dstack-vpn/operator, newTag: ${TAG}}
  - {name: ghcr.io/dstack-vpn/agent, newTag: ${TAG}}
patches:
  - target: {group: vpn.dstack.io, kind: VpnNetwork, name: ${NETWORK}}
    patch: |-
      - {op: replace, path: /spec/access/chain/rpcUrls, value: ["${RPC_URL}"]}
      - {op: replace, path: /spec/access/chain/contractAddress, value: "${CONTRACT}"}
  - patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: dstack-vpn-operator, namespace: ${NS}}
      spec:
        template:
          spec:
            containers:
              - name: operator
                env: [{name: DSTACK_CHAIN_RPC_ALLOW, value: "${GATEWAY}/32"}]
EOF
  kubectl apply --server-side -k "${overlay}"
  kubectl rollout status -n "${NS}" deployment/dstack-vpn-operator --timeout=180s
  kubectl rollout status -n "${NS}" daemonset/dstack-vpn-agent --timeout=180s
  # Every node still holds a token on the chain: the network admits them all again, with no new mint.
  wait_for 180 "every node Active again from the GitOps install" applied_after 0 "${NODES[@]}"
  kubectl get vpnnetworks,vpnpeers -n "${NS}" -o wide
  for n in "${NODES[@]}"; do
    ADDR[${n}]="$(peer_field "${NETWORK}-${n}" '{.status.address}')"
  done
  start_probes
  ping_all_pairs
  # The operator and the agents must not fight the manifests: a second diff shows nothing.
  set +e
  kubectl diff --server-side -k "${overlay}" >"${WORK}/gitops.diff" 2>&1
  rc=$?
  set -e
  if ((rc != 0)); then
    cat "${WORK}/gitops.diff" >&2
    die "kubectl diff -k shows drift after the install (exit ${rc})"
  fi
  log "kubectl apply -k reached the same working state; a second kubectl diff -k shows no drift"
}
