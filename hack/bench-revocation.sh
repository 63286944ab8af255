#!/usr/bin/env bash
# Control-plane revocation latency on real components (anvil + API server + packaged operator).
# Prints p50/p99 per poll interval. Takes about two minutes. Run hack/bootstrap.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/env.sh
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(java -version 2>&1 | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
./mvnw -B -q install -DskipTests
./mvnw -B -q -pl operator test -Dtest=RevocationBenchmark -Dsurefire.failIfNoSpecifiedTests=false \
  -Dbench.samples="${BENCH_SAMPLES:-25}" -Dbench.polls="${BENCH_POLLS:-100ms,1s}" 2>&1 | grep -E '^(##|\|)'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
