#!/usr/bin/env bash
# Benchmark of the chain follower against a real anvil (chain/src/test/java/io/dstack/vpn/chain/it/FollowerBenchmark.java):
# initial sync of 10,000 tokens, RPC calls per new block at 10 / 1,000 / 10,000 tokens, a full resync and a resync of
# logs, and revoke-to-registry latency with the follower polled every 100 ms and every 20 ms. About a minute on 2 cores.
# Needs anvil and the compiled contract (hack/install-chain-tools.sh, node contracts/build.mjs).
#
#   hack/bench-chain.sh                       # everything, 10,000 tokens
#   hack/bench-chain.sh -Dbench.tokens=1000   # smaller; also bench.blocks (100), bench.samples (30), bench.syncRuns (3)
#
# BENCH_AM=  (empty) skips building the api and testing modules (-am) when their jars are already installed.
# Results are printed and written to chain/target/follower-benchmark.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh
source hack/env.sh

describe_machine() {
  echo "when:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "cpus:    $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'))"
  echo "memory:  $(free -h | awk '/^Mem:/ {print $2 " total, " $7 " available"}'); swap $(free -h | awk '/^Swap:/ {print $2}')"
  echo "jdk:     $("${JAVA_HOME}/bin/java" -version 2>&1 | head -n 1) (${JAVA_HOME})"
  local anvil=contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
  [[ -x "$anvil" ]] || die "anvil not found at $anvil: run hack/install-chain-tools.sh"
  echo "anvil:   $("$anvil" --version | head -n 1)"
  [[ -f contracts/build/DstackAccessNFT.json ]] || die "contracts/build/DstackAccessNFT.json missing: run node contracts/build.mjs"
}

echo "== machine"
describe_machine
echo "load before: $(cat /proc/loadavg)"
echo
echo "== benchmark (./mvnw -pl chain ${BENCH_AM--am} test -Dtest=FollowerBenchmark)"
# shellcheck disable=SC2086 # BENCH_AM is one flag or nothing
./mvnw -B -q -pl chain ${BENCH_AM--am} test -Dtest=FollowerBenchmark -Dsurefire.failIfNoSpecifiedTests=false "$@" \
  2>&1 | grep -v '^SLF4J'
echo
echo "load after: $(cat /proc/loadavg)"
echo "other busy processes now (a shared machine makes the numbers noisier):"
ps -eo pcpu,etime,comm --sort=-pcpu | awk 'NR > 1 && $1 > 20' | head -n 5
echo "results: chain/target/follower-benchmark.txt"
