#!/usr/bin/env bash
# Operator scale (issues 8 and 17) on real components (anvil + API server + packaged operator): N peers in one
# VpnNetwork, chain access source, the peer set written sharded (ADR 0002). Prints change-to-rendered p50/p99
# (block → the node's shard; block → the index), status writes per second (initial load, steady state, changes,
# restart; peer-set shard and index writes apart), operator RSS and the shard layout against the 900 KiB
# per-object guard, as markdown rows. Takes about 5-8 minutes at 5,000 peers on 2 cores, 10-15 at 10,000.
# Run hack/bootstrap.sh first.
# Knobs: BENCH_PEERS (5000), BENCH_NODE_ID_LENGTH (10; up to 63: node ids padded in front), BENCH_CIDR (10.96.0.0/19,
# /18 above 8,190 peers), BENCH_CHANGES (20 revokes + 20 grants), BENCH_POLL (100ms), BENCH_BLOCK_TIME (2),
# BENCH_STEADY_SECONDS (30), BENCH_RESTART (true),
# BENCH_LOAD (cold: the peers wait for the operator's start; online: created while it runs); BENCH_INSTALL= skips rebuilding the modules;
# MVN_FLAGS (-o: offline; set MVN_FLAGS= to let Maven download).
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/env.sh
MVN_FLAGS="${MVN_FLAGS--o}"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(java -version 2>&1 | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -n "${BENCH_INSTALL-1}" ]]; then
  # shellcheck disable=SC2086
  ./mvnw -B -q ${MVN_FLAGS} install -DskipTests -pl operator -am   # api, chain, testing and the packaged operator
fi
cidr=()
if [[ -n "${BENCH_CIDR:-}" ]]; then cidr=(-Dbench.cidr="${BENCH_CIDR}"); fi
# shellcheck disable=SC2086
./mvnw -B -q ${MVN_FLAGS} -pl operator test -Dtest=OperatorScaleBenchmark -Dsurefire.failIfNoSpecifiedTests=false \
  -Dbench.peers="${BENCH_PEERS:-5000}" -Dbench.nodeIdLength="${BENCH_NODE_ID_LENGTH:-10}" "${cidr[@]}" \
  -Dbench.changes="${BENCH_CHANGES:-20}" -Dbench.poll="${BENCH_POLL:-100ms}" \
  -Dbench.blockTime="${BENCH_BLOCK_TIME:-2}" -Dbench.steadySeconds="${BENCH_STEADY_SECONDS:-30}" \
  -Dbench.restart="${BENCH_RESTART:-true}" -Dbench.load="${BENCH_LOAD:-cold}" 2>&1 \
  | grep --line-buffered -E '^(##|\||\(|machine|bulk|network|all|initial|per change|operator|peer-set|cold|total|WARNING|ERROR|\[ERROR\]|  )'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "full report: operator/target/operator-scale-benchmark.txt; operator logs: operator/target/operator-scale-operator-*.log"
