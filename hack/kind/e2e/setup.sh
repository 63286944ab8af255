# shellcheck shell=bash
# Phases of hack/kind-e2e.sh that bring the product up: cluster, chain, chart, registration, pings (UDP and TCP).

phase_cluster() {
  if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    hack/docker-engine.sh start
    TAG="${TAG}" hack/build-images.sh
    ./mvnw -B -q -DskipTests -pl cli -am package
  fi
  CREATED_CLUSTER=1
  hack/kind-cluster.sh create
  "${KIND}" load docker-image --name "${CLUSTER}" "ghcr.io/dstack-vpn/operator:${TAG}" "ghcr.io/dstack-vpn/agent:${TAG}" \
    "ghcr.io/dstack-vpn/proxy:${TAG}"
  mapfile -t NODES < <(kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | sort)
  ((${#NODES[@]} >= 3)) || die "the test needs a control plane and two workers, found: ${NODES[*]}"
  TCP_NODE="${NODES[2]}" # this worker's UDP is blocked: it joins over TCP
  local n
  for n in "${NODES[@]}"; do
    # wireguard-go needs the tun device; kind nodes are privileged containers and may lack the node.
    docker exec "${n}" sh -c 'test -c /dev/net/tun || { mkdir -p /dev/net && mknod /dev/net/tun c 10 200; }'
    NODE_IP[${n}]="$(kubectl get node "${n}" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')"
  done
  block_udp "${TCP_NODE}"
}

# block_udp NODE: drops UDP between NODE and the other nodes, inside NODE's network namespace (where its
# host-network pods live), as a firewall that only lets TCP through would. Pod traffic (FORWARD) is untouched.
block_udp() {
  local node=$1 n
  docker exec "${node}" iptables -N "${UDP_BLOCK_CHAIN}"
  for n in "${NODES[@]}"; do
    [[ "${n}" == "${node}" ]] && continue
    docker exec "${node}" iptables -A "${UDP_BLOCK_CHAIN}" -p udp -s "${NODE_IP[${n}]}" -j DROP
    docker exec "${node}" iptables -A "${UDP_BLOCK_CHAIN}" -p udp -d "${NODE_IP[${n}]}" -j DROP
  done
  docker exec "${node}" iptables -I INPUT -j "${UDP_BLOCK_CHAIN}"
  docker exec "${node}" iptables -I OUTPUT -j "${UDP_BLOCK_CHAIN}"
  log "UDP between ${node} and the other nodes is dropped (iptables chain ${UDP_BLOCK_CHAIN} in ${node})"
}
unblock_udp() {
  local node=$1
  docker exec "${node}" iptables -n -L "${UDP_BLOCK_CHAIN}" >/dev/null 2>&1 || return 0 # not blocked
  docker exec "${node}" iptables -D INPUT -j "${UDP_BLOCK_CHAIN}"
  docker exec "${node}" iptables -D OUTPUT -j "${UDP_BLOCK_CHAIN}"
  docker exec "${node}" iptables -F "${UDP_BLOCK_CHAIN}"
  docker exec "${node}" iptables -X "${UDP_BLOCK_CHAIN}"
  log "UDP between ${node} and the other nodes flows again"
}
udp_dropped() { # udp_dropped NODE: packets the block has dropped so far
  docker exec "$1" iptables -L "${UDP_BLOCK_CHAIN}" -v -n -x | awk 'NR > 2 { s += $1 } END { print s + 0 }'
}

phase_chain() {
  local bytecode tx
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
}

# The VpnNetwork of this run: the chart's agent.network, following our contract on anvil, with the proxy on
# (TCP-transport nodes reach the others through the per-node proxies).
apply_network() {
  kubectl apply --server-side -n "${NS}" -f - <<EOF
apiVersion: vpn.dstack.io/v1alpha1
kind: VpnNetwork
metadata:
  name: ${NETWORK}
spec:
  cidr: 10.99.0.0/24
  topology: {mode: Mesh}
  proxy: {enabled: true}
  access:
    chain:
      chainId: ${CHAIN_ID}
      rpcUrls: ["${RPC_URL}"]
      contractAddress: "${CONTRACT}"
      grantConfirmations: 1
      pollInterval: 100ms
EOF
}

phase_install() {
  log "installing the chart (release ${RELEASE}, namespace ${NS}); ${TCP_NODE} uses TCP (node label ${TRANSPORT_LABEL}=TCP)"
  kubectl label node "${TCP_NODE}" "${TRANSPORT_LABEL}=TCP" --overwrite
  "${HELM}" upgrade --install "${RELEASE}" helm/dstack-vpn --namespace "${NS}" --create-namespace \
    --set "imageTag=${TAG}" --set "agent.network=${NETWORK}" --set "agent.transportLabel=${TRANSPORT_LABEL}" \
    --set proxy.enabled=true --set "proxy.forward=${NODE_IP[${NODES[1]}]}:51820" \
    --set nodeApi.enabled=true --set nodeApi.service.type=NodePort \
    --set "operator.rpcAllowList={${GATEWAY}/32}" # anvil's private address: refused unless allowed (ADR 0010)
  apply_network
  kubectl rollout status -n "${NS}" "deployment/${RELEASE}-operator" --timeout=180s
  kubectl rollout status -n "${NS}" "daemonset/${RELEASE}-agent" --timeout=180s
  kubectl rollout status -n "${NS}" "deployment/${RELEASE}-proxy" --timeout=180s
}

phase_register() {
  has_reason() { [[ "$(peer_field "$1" '{.status.reason}')" == "$2" ]]; }
  local n
  for n in "${NODES[@]}"; do
    wait_for 120 "VpnPeer ${NETWORK}-${n} waiting for a token" has_reason "${NETWORK}-${n}" NoToken
  done
  cli pending -n "${NS}"
  for n in "${NODES[@]}"; do
    TOKENS[${n}]="$(mint "${n}")"
    log "${n}: token ${TOKENS[${n}]}"
  done
  wait_for 180 "every node Active and applied" applied_after 0 "${NODES[@]}"
  kubectl get vpnnetworks,vpnpeers -n "${NS}" -o wide
  for n in "${NODES[@]}"; do
    ADDR[${n}]="$(peer_field "${NETWORK}-${n}" '{.status.address}')"
    KEY[${n}]="$(peer_field "${NETWORK}-${n}" '{.spec.publicKey}')"
  done
}

# ping_all_pairs [TIMEOUT]: every ordered pair of nodes pings across the overlay, each within TIMEOUT seconds
# (default 60); logs how long each pair took.
ping_all_pairs() {
  local timeout=${1:-60} from to started
  for from in "${NODES[@]}"; do
    for to in "${NODES[@]}"; do
      [[ "${from}" == "${to}" ]] && continue
      # The first packets may wait for the WireGuard handshake (through the proxies for TCP): allow a few tries.
      started=${SECONDS}
      wait_for "${timeout}" "ping ${from} -> ${to} (${ADDR[${to}]})" ping_from "${from}" "${ADDR[${to}]}"
      log "ping ${from} -> ${to} (${ADDR[${to}]}): ok after $((SECONDS - started)) s"
    done
  done
}

phase_pings() {
  start_probes
  ping_all_pairs
  docker exec "${NODES[0]}" ip -brief address show dvpn0

  # The TCP node really had no UDP path: the block drops datagrams its host sends to another node...
  local before after n endpoint
  before="$(udp_dropped "${TCP_NODE}")"
  kubectl exec -n "${NS}" "${PROBE[${TCP_NODE}]}" -- bash -c \
    "for i in 1 2 3; do echo probe 2>/dev/null > /dev/udp/${NODE_IP[${NODES[0]}]}/51820 || true; done"
  after="$(udp_dropped "${TCP_NODE}")"
  ((after >= before + 3)) || die "the UDP block on ${TCP_NODE} did not drop test datagrams (${before} -> ${after})"
  # ... and WireGuard on every side talks to it through a local proxy socket, not its UDP endpoint.
  for n in "${NODES[@]}"; do
    [[ "${n}" == "${TCP_NODE}" ]] && continue
    endpoint="$(wg_on "${TCP_NODE}" show dvpn0 endpoints | awk -v k="${KEY[${n}]}" '$1 == k { print $2 }')"
    [[ "${endpoint}" == 127.0.0.1:* ]] || die "${TCP_NODE} reaches ${n} at '${endpoint}', not through its udp2tcp tunnel"
    endpoint="$(wg_on "${n}" show dvpn0 endpoints | awk -v k="${KEY[${TCP_NODE}]}" '$1 == k { print $2 }')"
    [[ "${endpoint}" == 127.0.0.1:* ]] || die "${n} reaches ${TCP_NODE} at '${endpoint}', not through its proxy"
    log "${TCP_NODE} <-> ${n}: over TCP (the endpoints are the proxies' loopback sockets; UDP dropped: ${after} packets)"
  done

  local proxy_pod
  proxy_pod="$(kubectl get pods -n "${NS}" -l app.kubernetes.io/component=proxy -o jsonpath='{.items[0].metadata.name}')"
  kubectl get --raw "/api/v1/namespaces/${NS}/pods/${proxy_pod}:9102/proxy/metrics" | grep -q '^dstack_vpn_proxy_connections_total' \
    || die "the proxy's /metrics has no dstack_vpn_proxy_connections_total"
  log "proxy ${RELEASE}-proxy is ready and serves its metrics"
}
