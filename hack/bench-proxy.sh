#!/usr/bin/env bash
# Proxy benchmark on loopback: per-datagram round trip (p50/p99) and throughput through our udp2tcp + tcp2udp,
# beside plain UDP to the same echo and beside a Rust UDP-over-TCP tunnel (jonhoo's udp-over-tcp from
# crates.io, built once into ~/.cache/dstack-vpn/cargo), with 1 and 16 connections. A few minutes.
# Mullvad's own binaries cannot be built here (not on crates.io; docs/adr/0008-proxy.md).
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/env.sh
RUST_PEER="$HOME/.cache/dstack-vpn/cargo/bin/udp-over-tcp"
if [[ ! -x "$RUST_PEER" ]]; then
  cargo install --quiet --root "$HOME/.cache/dstack-vpn/cargo" udp-over-tcp@0.1.10
fi
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
./mvnw -B -q -pl proxy install -DskipTests
echo "| path | connections | round trips | p50 µs | p99 µs | datagrams/s | Mbit/s |"
echo "|---|---|---|---|---|---|---|"
./mvnw -B -q -pl proxy test -Dtest=ProxyBenchmark -Dsurefire.failIfNoSpecifiedTests=false \
  -Dbench.roundTrips="${BENCH_ROUND_TRIPS:-20000}" -Dbench.rustPeer="$RUST_PEER" 2>&1 | grep -E '^(\||machine)' | grep -v warm-up
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
