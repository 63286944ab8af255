# shellcheck shell=bash
# A node outside Kubernetes (ADR 0015), as on a dstack CVM: `dstack-vpn node-bundle` writes its compose bundle and
# the node runs from that very file with docker compose. The only change for the test is an override that puts it
# on the docker network `kind` (its own network namespace: the CI host gets no overlay interface) instead of the
# host's. It reaches the node API through a node port and the kind nodes only over TCP: UDP between it and every
# kind node is dropped. Pending -> refused (NotAMember); granted -> pings both ways with every kind node and its
# status applied; revoked -> refused by the node API and dropped by every node (times logged); granted again -> back.

STANDALONE_ID="tee-1"
STANDALONE_CONTAINER="dvpn-e2e-standalone"
STANDALONE_UDP_CHAIN="DVPN-E2E-NO-UDP-OUTSIDE"
STANDALONE_BUNDLE=""
STANDALONE_IP=""
STANDALONE_RESULT=""

standalone_compose() { # standalone_compose ARGS...: docker compose on the bundle, with the test's override
  (cd "${STANDALONE_BUNDLE}" && docker-compose -p dvpn-e2e-standalone -f docker-compose.yaml -f e2e-override.yaml "$@")
}
standalone_log() { docker logs "${STANDALONE_CONTAINER}" 2>&1; }
standalone_ping() { docker exec "${STANDALONE_CONTAINER}" ping -c 3 -W 2 "$1" >/dev/null 2>&1; }
standalone_refused_since() { # standalone_refused_since LINES: a NotAMember refusal logged after the first LINES lines
  standalone_log | tail -n +"$(($1 + 1))" | grep -q 'refuses this node (NotAMember)'
}
standalone_udp_dropped() { # packets the UDP block has dropped on NODE
  docker exec "$1" iptables -L "${STANDALONE_UDP_CHAIN}" -v -n -x | awk 'NR > 2 { s += $1 } END { print s + 0 }'
}

# Drops UDP between the standalone node and every kind node, in each kind node's namespace: like a CVM's host.
standalone_block_udp() {
  local n
  for n in "${NODES[@]}"; do
    docker exec "${n}" iptables -N "${STANDALONE_UDP_CHAIN}"
    docker exec "${n}" iptables -A "${STANDALONE_UDP_CHAIN}" -p udp -s "${STANDALONE_IP}" -j DROP
    docker exec "${n}" iptables -A "${STANDALONE_UDP_CHAIN}" -p udp -d "${STANDALONE_IP}" -j DROP
    docker exec "${n}" iptables -I INPUT -j "${STANDALONE_UDP_CHAIN}"
    docker exec "${n}" iptables -I OUTPUT -j "${STANDALONE_UDP_CHAIN}"
  done
}

standalone_stop() { # the cleanup: the container, its volumes, the UDP block (best effort)
  [[ -n "${STANDALONE_BUNDLE}" && -d "${STANDALONE_BUNDLE}" ]] || return 0
  standalone_log >"${WORK}/standalone-node.txt" 2>&1 || true
  standalone_compose down -v --timeout 5 >/dev/null 2>&1 || true
  local n
  for n in "${NODES[@]}"; do
    docker exec "${n}" iptables -D INPUT -j "${STANDALONE_UDP_CHAIN}" 2>/dev/null || true
    docker exec "${n}" iptables -D OUTPUT -j "${STANDALONE_UDP_CHAIN}" 2>/dev/null || true
    docker exec "${n}" iptables -F "${STANDALONE_UDP_CHAIN}" 2>/dev/null || true
    docker exec "${n}" iptables -X "${STANDALONE_UDP_CHAIN}" 2>/dev/null || true
  done
  STANDALONE_BUNDLE=""
}

phase_standalone() {
  local port api_url out n before lines t_submit t_refused started
  hack/install-docker-compose.sh
  port="$(kubectl get svc -n "${NS}" "${RELEASE}-node-api" -o jsonpath='{.spec.ports[0].nodePort}')"
  [[ -n "${port}" ]] || die "the node API Service has no node port (the chart is installed with nodeApi.service.type=NodePort)"
  kubectl rollout status -n "${NS}" "deployment/${RELEASE}-node-api" --timeout=120s
  api_url="http://${NODE_IP[${NODES[0]}]}:${port}"

  STANDALONE_BUNDLE="${WORK}/bundle-${STANDALONE_ID}"
  cli node-bundle "${STANDALONE_ID}" --vpn-network "${NETWORK}" -n "${NS}" --out "${STANDALONE_BUNDLE}" --node-api-url "${api_url}"
  grep -q "^NODE_API_KEY=" "${STANDALONE_BUNDLE}/node.env" || die "the bundle has no NODE_API_KEY"
  printf '%s\n' "services:" "  dstack-vpn:" "    network_mode: kind" "    container_name: ${STANDALONE_CONTAINER}" \
    >"${STANDALONE_BUNDLE}/e2e-override.yaml"
  standalone_compose up -d
  STANDALONE_IP="$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "${STANDALONE_CONTAINER}")"
  [[ -n "${STANDALONE_IP}" ]] || die "the standalone node has no address on the docker network kind"
  standalone_block_udp
  log "standalone node ${STANDALONE_ID} up at ${STANDALONE_IP} (docker compose, the bundle's file); UDP between it and the kind nodes dropped"

  # Not granted yet: the node made its key, logs it and waits, refused by the node API.
  wait_for 90 "the standalone node refused as NotAMember" standalone_refused_since 0
  KEY[${STANDALONE_ID}]="$(standalone_log | sed -n "s/.*node ${STANDALONE_ID} uses public key \([A-Za-z0-9+/=]\{44\}\).*/\1/p" | head -n 1)"
  [[ -n "${KEY[${STANDALONE_ID}]}" ]] || die "the standalone node did not log its public key"
  log "standalone node ${STANDALONE_ID}: public key ${KEY[${STANDALONE_ID}]}, refused while pending (NotAMember)"

  # Granted with the same command, now with the key: it creates the VpnPeer and mints.
  before="$(generation)"
  out="$(PRIVATE_KEY="${OWNER_KEY}" cli node-bundle "${STANDALONE_ID}" --vpn-network "${NETWORK}" -n "${NS}" --out "${STANDALONE_BUNDLE}" \
    --node-api-url "${api_url}" --public-key "${KEY[${STANDALONE_ID}]}" --holder "${HOLDER}" -o json)"
  TOKENS[${STANDALONE_ID}]="$(json_field tokenId <<<"${out}")"
  started=${SECONDS}
  wait_for 120 "the standalone node Active and applied with every kind node" applied_after "${before}" "${NODES[@]}" "${STANDALONE_ID}"
  ADDR[${STANDALONE_ID}]="$(peer_field "${NETWORK}-${STANDALONE_ID}" '{.status.address}')"
  log "standalone node ${STANDALONE_ID}: token ${TOKENS[${STANDALONE_ID}]}, address ${ADDR[${STANDALONE_ID}]}, status applied after $((SECONDS - started)) s"
  for n in "${NODES[@]}"; do
    wait_for 60 "ping ${STANDALONE_ID} -> ${n}" standalone_ping "${ADDR[${n}]}"
    wait_for 60 "ping ${n} -> ${STANDALONE_ID}" ping_from "${n}" "${ADDR[${STANDALONE_ID}]}"
  done
  # Over TCP: its endpoints for the kind nodes are its udp2tcp tunnels on loopback, and UDP towards it was dropped.
  if docker exec "${STANDALONE_CONTAINER}" wg show dvpn0 endpoints | awk '{ print $2 }' | grep -qv '^127\.0\.0\.1:'; then
    die "the standalone node reaches a kind node other than through a local udp2tcp tunnel: $(docker exec "${STANDALONE_CONTAINER}" wg show dvpn0 endpoints)"
  fi
  log "standalone node ${STANDALONE_ID} <-> every kind node: pings both ways, over TCP (UDP dropped on ${NODES[0]}: $(standalone_udp_dropped "${NODES[0]}") packets)"

  # Revoked: every kind node drops its key and the node API refuses it. Timed from the block that mined the revocation
  # (the block clock), to each kind node's cut (a `wg show` watcher per node, 20 ms) and to the refusal the node
  # logged (docker's own timestamp of that line).
  local files=() block t_block t_cut worst=0 line
  node hack/kind/e2e/block-clock.mjs "${RPC_URL}" >"${WORK}/blocks.txt" 2>"${WORK}/block-clock.log" &
  CLOCK_PID=$!
  for n in "${NODES[@]}"; do
    watch_key "${n}" "${KEY[${STANDALONE_ID}]}" "${WORK}/watch-standalone-${n}.txt"
    files+=("${WORK}/watch-standalone-${n}.txt")
  done
  wait_for 60 "the key watchers on every kind node" all_last_state 1 "${files[@]}"
  lines="$(standalone_log | wc -l)"
  t_submit="$(now_ms)"
  out="$(PRIVATE_KEY="${OWNER_KEY}" cli revoke "${TOKENS[${STANDALONE_ID}]}" -n "${NS}" -o json)"
  block="$(json_field block <<<"${out}")"
  wait_for 30 "every kind node dropped ${STANDALONE_ID}" all_last_state 0 "${files[@]}"
  wait_for 30 "the node API refusing the revoked ${STANDALONE_ID}" standalone_refused_since "${lines}"
  t_block="$(block_seen "${block}")"
  [[ -n "${t_block}" ]] || die "the block clock never saw block ${block}"
  line="standalone node revoked in block ${block}:"
  for n in "${NODES[@]}"; do
    t_cut="$(first_change_after "${WORK}/watch-standalone-${n}.txt" "${t_submit}" 0)"
    [[ -n "${t_cut}" ]] || die "no cut of ${STANDALONE_ID} recorded on ${n}"
    line+=" ${n} +$((t_cut - t_block)) ms"
    ((t_cut - t_block > worst)) && worst=$((t_cut - t_block))
  done
  t_refused="$(docker logs -t "${STANDALONE_CONTAINER}" 2>&1 | tail -n +"$((lines + 1))" | grep -m 1 'refuses this node (NotAMember)' | awk '{ print $1 }')"
  t_refused="$(date -d "${t_refused}" +%s%3N)"
  watch_stop
  kill "${CLOCK_PID}" 2>/dev/null || true
  wait "${CLOCK_PID}" 2>/dev/null || true
  CLOCK_PID=""
  if standalone_ping "${ADDR[${NODES[0]}]}"; then die "the revoked ${STANDALONE_ID} still reaches ${NODES[0]}"; fi
  STANDALONE_RESULT="standalone node revoked: block -> dropped by every kind node +${worst} ms, -> refused by the node API (its long poll answered 403) +$((t_refused - t_block)) ms (1 s blocks, pollInterval 100ms)"
  log "${line}"
  log "${STANDALONE_RESULT}"

  # Granted again: a new token for the same key; it joins again with nothing done on the node.
  before="$(generation)"
  TOKENS[${STANDALONE_ID}]="$(PRIVATE_KEY="${OWNER_KEY}" cli register "${HOLDER}" "${STANDALONE_ID}" --public-key "${KEY[${STANDALONE_ID}]}" -o json | json_field tokenId)"
  wait_for 120 "the standalone node granted again and applied" applied_after "${before}" "${NODES[@]}" "${STANDALONE_ID}"
  wait_for 60 "ping ${STANDALONE_ID} -> ${NODES[0]} after the new grant" standalone_ping "${ADDR[${NODES[0]}]}"
  wait_for 60 "ping ${NODES[1]} -> ${STANDALONE_ID} after the new grant" ping_from "${NODES[1]}" "${ADDR[${STANDALONE_ID}]}"
  log "standalone node ${STANDALONE_ID} granted again (token ${TOKENS[${STANDALONE_ID}]}): pings both ways"

  # It leaves the mesh for the phases after this one (they count the kind nodes only).
  PRIVATE_KEY="${OWNER_KEY}" cli revoke "${TOKENS[${STANDALONE_ID}]}" -n "${NS}" -o json >/dev/null
  standalone_stop
  kubectl delete vpnpeer -n "${NS}" "${NETWORK}-${STANDALONE_ID}" --wait=true
}
