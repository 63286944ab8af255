#!/usr/bin/env bash
# The agent's footprint (issue 19): the packaged agent jar as a process with the fake in-memory device
# (WG_BACKEND=memory) against the real API server, a peer set of 1,000 peers. Variants are started in turn,
# round after round (load falls on all alike); prints start → Ready p50/p99, start → applied, RSS, Pss and
# threads in steady state, and one peer's removal → applied, as a markdown table. Runs
# agent-daemonset/src/test/java/io/dstack/vpn/agent/it/AgentFootprintBenchmark.java, which CI never runs.
# No root needed; about 1.5 minutes per variant on 2 cores.
#
#   BENCH_VARIANTS  name|jar dir|JVM options;...   (default: the jar just built with the image's flags and AOT cache)
#                   an option NAME=value (upper case) is set in the agent's environment instead, e.g. NODE_PROXY=process
#                   {after} stands for the jar just built (copied to $BENCH_OUT/after); a variant with
#                   -XX:AOTCache=<file> gets that cache made first if it is missing (agent-daemonset/aot-training.sh)
#   BENCH_STARTS=10 starts per variant (after one uncounted round)
#   BENCH_RSS_ROUNDS=3  rounds that settle and read memory
#   BENCH_PEERS=1000
#   BENCH_PROXY=0   1: the peer set enables the node proxy (RSS then includes its child JVM, if any)
#   BENCH_OUT=/tmp/agent-footprint  where jars and AOT caches go
#   BENCH_BUILD=1   0: reuse the jars already built
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/env.sh
out="${BENCH_OUT:-/tmp/agent-footprint}"
if [[ "${BENCH_BUILD:-1}" != 0 ]]; then
  ./mvnw -B -q -pl agent-daemonset -am install -DskipTests
fi
rm -rf "${out}/after" && mkdir -p "${out}/after"
cp -r agent-daemonset/target/dstack-vpn-agent-*.jar agent-daemonset/target/lib "${out}/after/"
variants="${BENCH_VARIANTS:-image flags|{after}|@${PWD}/agent-daemonset/jvm.options -XX:AOTCache={after}/agent.aot}"
variants="${variants//\{after\}/${out}/after}"
./mvnw -B -q -pl agent-daemonset -am test -Dtest=AgentFootprintBenchmark -Dsurefire.failIfNoSpecifiedTests=false \
  -Dbench.variants="${variants}" -Dbench.starts="${BENCH_STARTS:-10}" -Dbench.rssRounds="${BENCH_RSS_ROUNDS:-3}" \
  -Dbench.peers="${BENCH_PEERS:-1000}" -Dbench.proxy="$([[ ${BENCH_PROXY:-0} == 1 ]] && echo true || echo false)" 2>&1 \
  | grep -E '^(\||machine|round|variant|load|  |\[ERROR\])'
