#!/usr/bin/env bash
# The "Tooling costs" figures of docs/benchmarks.md, measured: compiling the access contract with solc-js,
# starting anvil until it answers eth_chainId (AnvilStartBenchmark), and the no-op run of
# hack/provision-kube-binaries.sh when the binaries are already installed. About a minute.
# BENCH_SOLC_RUNS (5) and BENCH_ANVIL_RUNS (21) change the sample counts. Needs hack/install-chain-tools.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh
source hack/env.sh

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# Prints "p50 X ms, max Y ms (n runs)" for the given samples in ms.
summary() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "p50 %d ms, max %d ms, min %d ms (%d runs)\n", a[int((NR+1)/2)], a[NR], a[1], NR}'; }

echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/{print $2}') GiB," \
  "JDK $("${JAVA_HOME}/bin/java" -version 2>&1 | head -n1 | cut -d'"' -f2), node $(node --version), load $(cut -d' ' -f1-3 /proc/loadavg)"

# solc-js: build.mjs --check compiles the contract in full and compares with the checked-in artifact (no write).
solc=()
for _ in $(seq "${BENCH_SOLC_RUNS:-5}"); do
  t0=$(now_ms); node contracts/build.mjs --check >/dev/null; solc+=($(( $(now_ms) - t0 )))
done
echo "solc-js $(node -p 'require("./contracts/node_modules/solc/package.json").version'), node contracts/build.mjs --check, wall: $(summary "${solc[@]}")"

# Only time the no-op: if the binaries are missing, the script would build them (minutes of both cores).
kube_dir="${HOME}/.kubeapitest/k8s/${KUBE_VERSION}-linux-amd64"
if [[ -x "${kube_dir}/kube-apiserver" && -x "${kube_dir}/etcd" && -x "${kube_dir}/kubectl" ]]; then
  noop=()
  for _ in 1 2 3; do
    t0=$(now_ms); hack/provision-kube-binaries.sh >/dev/null 2>&1; noop+=($(( $(now_ms) - t0 )))
  done
  echo "hack/provision-kube-binaries.sh, binaries already installed, wall: $(summary "${noop[@]}")"
else
  echo "hack/provision-kube-binaries.sh no-op: not measured (binaries not installed in ${kube_dir})"
fi

./mvnw -B -q -pl testing -am test -Dtest=AnvilStartBenchmark -Dsurefire.failIfNoSpecifiedTests=false \
  -Dbench.anvilRuns="${BENCH_ANVIL_RUNS:-21}" 2>&1 | grep -E '^(anvil start|machine)'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
