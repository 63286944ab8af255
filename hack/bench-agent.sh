#!/usr/bin/env bash
# Agent apply benchmark on a real wireguard-go in a network namespace (root): a one-peer change at 1,000 and
# 5,000 peers (full diff) and at 10,000 peers in 32 shards (BENCH_SHARDS; the layout the operator picks for 63-character ids; the agent's sharded, incremental path), each beside
# `wg syncconf`, and a full apply of 1,000 peers. About two minutes. Extra Maven flags (e.g. -o) in MVN_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/env.sh
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
./mvnw -B -q ${MVN_FLAGS:-} -pl agent-daemonset -am install -DskipTests
echo "| what | samples | p50 | p99 (max) |"
echo "|---|---|---|---|"
./mvnw -B -q ${MVN_FLAGS:-} -pl agent-daemonset test -Dtest=ApplyBenchmark -Dsurefire.failIfNoSpecifiedTests=false \
  -Dbench.samples="${BENCH_SAMPLES:-30}" -Dbench.shardedSamples="${BENCH_SHARDED_SAMPLES:-1000}" -Dbench.shards="${BENCH_SHARDS:-32}" 2>&1 | grep -E '^(\||machine)'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
