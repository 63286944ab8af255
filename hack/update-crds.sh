#!/usr/bin/env bash
# Regenerates crds/ from the Java model in api/ (CrdDriftTest fails until you do after a model change).
# It runs api's UpdateCrds entry point, not the test: CrdDriftTest only compares and has no update switch.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh
source hack/env.sh
./mvnw -B -q -pl api test-compile org.codehaus.mojo:exec-maven-plugin:java \
  -Dexec.mainClass=io.dstack.vpn.api.crd.UpdateCrds -Dexec.classpathScope=test -Dexec.args="$PWD/crds"
# The chart ships the same files (ChartIT checks); remove first so a renamed CRD leaves no stale copy.
rm -f helm/dstack-vpn/crds/*.yml
cp crds/*.yml helm/dstack-vpn/crds/
echo "crds/ and helm/dstack-vpn/crds/ updated (config/base follows the chart: run hack/update-kustomize.sh):"; ls crds/
