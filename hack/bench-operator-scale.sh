#!/usr/bin/env bash
# Operator scale (issue 8) on real components (anvil + API server + packaged operator): 5,000 peers in one
# VpnNetwork, chain access source. Prints change-to-rendered p50/p99, status writes per second (initial load,
# steady state, changes, restart), operator RSS and the peer-set size against the 900 KiB guard, as markdown
# rows. Takes about 5-8 minutes on 2 cores. Run hack/bootstrap.sh first.
# Knobs: BENCH_PEERS (5000), BENCH_CHANGES (20 revokes + 20 grants), BENCH_POLL (100ms), BENCH_BLOCK_TIME (2),
# BENCH_STEADY_SECONDS (30), BENCH_RESTART (true),
# BENCH_LOAD (cold: the peers wait for the operator's start; online: created while it runs); BENCH_INSTALL= skips rebuilding the modules.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/env.sh
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(java -version 2>&1 | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -n "${BENCH_INSTALL-1}" ]]; then
  ./mvnw -B -q install -DskipTests -pl operator -am   # api, chain, testing and the packaged operator
fi
./mvnw -B -q -pl operator test -Dtest=OperatorScaleBenchmark -Dsurefire.failIfNoSpecifiedTests=false \
  -Dbench.peers="${BENCH_PEERS:-5000}" -Dbench.changes="${BENCH_CHANGES:-20}" -Dbench.poll="${BENCH_POLL:-100ms}" \
  -Dbench.blockTime="${BENCH_BLOCK_TIME:-2}" -Dbench.steadySeconds="${BENCH_STEADY_SECONDS:-30}" \
  -Dbench.restart="${BENCH_RESTART:-true}" -Dbench.load="${BENCH_LOAD:-cold}" 2>&1 | grep --line-buffered -E '^(##|\||machine|bulk|network|all|initial|per change|operator|total|WARNING|  )'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "full report: operator/target/operator-scale-benchmark.txt"
