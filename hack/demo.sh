#!/usr/bin/env bash
# The local demo: a real kube-apiserver, the operator and the sample network, as a narrative.
#   hack/demo.sh        keeps running until Ctrl-C (everything is stopped and removed on exit)
#   hack/demo.sh --ci   runs the story once and exits
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh
source hack/env.sh

log "building (skipping tests) ..."
./mvnw -B -q -DskipTests install
./mvnw -B -q -pl e2e dependency:build-classpath -Dmdep.outputFile="$PWD/e2e/target/classpath.txt" -Dmdep.includeScope=runtime
CP="e2e/target/classes:$(cat e2e/target/classpath.txt)"
# exec: the JVM receives Ctrl-C itself and its shutdown hooks stop the operator and the API server.
exec java -Ddstack.repo.root="$PWD" -Dkube.version="${KUBE_VERSION}" \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$CP" io.dstack.vpn.e2e.LocalDemo "$@"
