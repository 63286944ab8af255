#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need, idempotently and with caching:
#   - checks for a JDK 21+ (Temurin under /usr/lib/jvm) and Go (to build the API server binaries);
#   - builds kube-apiserver, etcd and kubectl from the Go module proxy into ~/.kubeapitest (cached);
#   - installs Debian's PostgreSQL server for the replication test across the overlay (hack/install-postgres.sh);
#   - builds Mullvad's udp-over-tcp from ../shared/vendor with cargo (cached; the proxy interop tests need it);
#   - warms the Maven wrapper and the dependency cache.
# Safe to run again: every step skips what is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh
source hack/env.sh

log "JDK: ${JAVA_HOME}"
require_cmd "$(go_bin)"

hack/provision-kube-binaries.sh
hack/install-chain-tools.sh
hack/install-wireguard.sh
hack/install-postgres.sh
hack/install-helm.sh
hack/install-mullvad-udp-over-tcp.sh >/dev/null # Mullvad's tcp2udp/udp2tcp for the interop tests (cached)

log "Maven wrapper and dependencies (cached in ~/.m2)"
./mvnw -B -q -DskipTests install >/dev/null
log "bootstrap done"
