#!/usr/bin/env bash
# Proxy benchmark on loopback: ours beside Mullvad's own udp-over-tcp (built from ../shared/vendor by
# hack/install-mullvad-udp-over-tcp.sh), side by side in one run: ours↔ours, Mullvad↔Mullvad and both mixed
# pairs, with 1 and 16 TCP connections, contenders rotated each round. Prints throughput, round-trip p50/p99,
# CPU seconds per GB and RSS of the proxy processes (medians over rounds). About 6 minutes with 5 rounds.
#   BENCH_ROUNDS (5), BENCH_FLOOD_MILLIS (3000), BENCH_WINDOW (16 datagrams in flight per connection),
#   BENCH_ALT_JVM_FLAGS (a fifth contender: ours with these JVM flags instead of the node proxy's).
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/env.sh
MULLVAD_UDP_OVER_TCP_BIN="$(hack/install-mullvad-udp-over-tcp.sh | tail -n 1)"
export MULLVAD_UDP_OVER_TCP_BIN
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
# -am: build the modules from this checkout, never a stale SNAPSHOT another checkout installed in ~/.m2.
./mvnw -B -q -pl e2e -am test -Dtest=ProxyBenchmark -Dsurefire.failIfNoSpecifiedTests=false \
  -Dbench.rounds="${BENCH_ROUNDS:-5}" -Dbench.floodMillis="${BENCH_FLOOD_MILLIS:-3000}" -Dbench.window="${BENCH_WINDOW:-16}" \
  -Dbench.altJvmFlags="${BENCH_ALT_JVM_FLAGS:-}" 2>&1 | grep -E '^(\||ratio|our JVM|[0-9]+ connection)'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
