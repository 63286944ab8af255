#!/usr/bin/env bash
# Installs the WireGuard data-plane tools that SimulatedNetwork (testing/) and its *IT tests use to run real
# tunnels between network namespaces on a machine without the kernel WireGuard module:
#   - wireguard-go     userspace WireGuard on /dev/net/tun (one process per simulated node and interface);
#   - wireguard-tools  `wg` (genkey/pubkey, and `wg show` when debugging);
#   - iproute2         `ip netns`, veth pairs, the bridge;
#   - nftables         `nft`, to block UDP inside a simulated node (tests the TCP path);
#   - iputils-ping     `ping`, run inside the namespaces (not in a minimal Debian image);
#   - bind9-dnsutils   `dig`, the resolver DnsNamesIT asks the agents' DNS names with, inside the namespaces.
# Debian packages, installed with --no-install-recommends: wireguard-tools recommends a kernel image.
#
# Idempotent: does nothing when every command is already on PATH (no apt call at all). Otherwise needs root
# and apt-get; runs `apt-get update` only if the first install attempt fails (a stale package index).
# Fails loudly if a command is still missing afterwards, or if /dev/net/tun is unusable.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh

PACKAGES=(wireguard-go wireguard-tools iproute2 nftables iputils-ping bind9-dnsutils)
COMMANDS=(wireguard-go wg ip nft ping unshare dig)

missing=()
for c in "${COMMANDS[@]}"; do
  command -v "$c" >/dev/null 2>&1 || missing+=("$c")
done

if ((${#missing[@]} == 0)); then
  log "WireGuard tools present: $(wireguard-go --version 2>/dev/null | head -n 1), $(wg --version 2>/dev/null)"
else
  log "missing: ${missing[*]}; installing ${PACKAGES[*]} with apt-get"
  [[ "$(id -u)" == "0" ]] || die "need root to apt-get install ${PACKAGES[*]} (missing: ${missing[*]})"
  require_cmd apt-get
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >&2; then
    log "apt-get install failed; refreshing the package index and retrying once"
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >&2
  fi
  require_cmd "${COMMANDS[@]}"
fi

# wireguard-go needs a TUN device; without it every SimulatedNode.startWireGuard fails.
[[ -c /dev/net/tun ]] || die "/dev/net/tun is missing: wireguard-go cannot create interfaces here"
