#!/usr/bin/env bash
# Regenerates crds/ from the Java model in api/ (CrdDriftTest fails until you do after a model change).
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh
source hack/env.sh
./mvnw -B -q -pl api test -Dtest=CrdDriftTest -Ddstack.updateCrds=true -Ddstack.repo.root="$PWD"
echo "crds/ updated:"; ls crds/
