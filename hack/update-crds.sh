#!/usr/bin/env bash
# Regenerates crds/ from the Java model in api/ (CrdDriftTest fails until you do after a model change).
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh
source hack/env.sh
./mvnw -B -q -pl api test -Dtest=CrdDriftTest -Ddstack.updateCrds=true -Ddstack.repo.root="$PWD"
cp crds/*.yml helm/dstack-vpn/crds/  # the chart ships the same files (ChartIT checks)
echo "crds/ and helm/dstack-vpn/crds/ updated:"; ls crds/
