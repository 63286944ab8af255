#!/usr/bin/env bash
# Whole-system revocation latency (issue 8): anvil with 2 s blocks, the packaged operator following the chain, the
# real API server, and one agent per node: N = 3 and 10 network-namespace nodes with wireguard-go (the cut is seen
# by polling each node's UAPI state), and N = 100 agents with the fake in-memory backend (WG_BACKEND=memory; cut
# times from the devices' own records), once as 100 agent JVMs and once as 100 agents in one JVM. Prints p50/p99
# from the block that carries the revoke (and from its submission) to the revoked node's removal on every other
# node, as markdown rows. Root; about 15 minutes on 2 cores. Runs
# agent-daemonset/src/test/java/io/dstack/vpn/agent/it/RevocationScaleBenchmark.java, which CI never runs; the
# table also goes to agent-daemonset/target/revocation-scale-benchmark.txt.
#
#   BENCH_SAMPLES=20     revocations per configuration
#   BENCH_REAL=3,10      sizes with real nodes (empty: none)
#   BENCH_MEMORY=100     sizes with the fake backend, one agent JVM each (empty: none)
#   BENCH_MEMORY_IN_JVM=100  sizes with the fake backend, all agents in the benchmark's JVM (empty: none)
#   BENCH_POLL=100ms     the operator's spec.access.chain.pollInterval (100ms is the smallest it accepts)
#   BENCH_BLOCK_TIME=2   anvil --block-time, seconds (fractions allowed: 0.2)
#   BENCH_MODES=polling  how the operator learns of blocks: polling, subscription (a ws:// URL too), or both: polling,subscription
#   BENCH_BURST=0        VpnPeer status writes fired at every revocation (issue 16: 1000)
#   BENCH_IDLE_SECONDS=60  how long the operator's RPC calls are counted at idle per configuration (0: skip)
#   BENCH_BUILD=0        skip `mvnw install` (reuse the jars already built)
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) == 0 ]] || { echo "needs root (network namespaces, wireguard-go)" >&2; exit 1; }
source hack/env.sh
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ "${BENCH_BUILD:-1}" != 0 ]]; then
  ./mvnw -B -q -o install -DskipTests
fi
./mvnw -B -q -o -pl agent-daemonset test -Dtest=RevocationScaleBenchmark -Dsurefire.failIfNoSpecifiedTests=false \
  -Dbench.samples="${BENCH_SAMPLES:-20}" -Dbench.real="${BENCH_REAL-3,10}" -Dbench.memory="${BENCH_MEMORY-100}" \
  -Dbench.memoryInJvm="${BENCH_MEMORY_IN_JVM-100}" -Dorg.slf4j.simpleLogger.log.io.dstack.vpn.agent=warn \
  -Dbench.poll="${BENCH_POLL:-100ms}" -Dbench.blockTime="${BENCH_BLOCK_TIME:-2}" -Dbench.modes="${BENCH_MODES:-polling}" \
  -Dbench.burst="${BENCH_BURST:-0}" -Dbench.idleSeconds="${BENCH_IDLE_SECONDS:-60}" 2>&1 \
  | grep -E '^(\||machine|anvil|N = |== |mesh|sample|idle|\[ERROR\])'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
