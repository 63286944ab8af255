#!/usr/bin/env bash
# The test command of the README: unit tests (*Test) and tests against a real kube-apiserver (*IT).
# Run hack/bootstrap.sh first (make test does).
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/env.sh
exec ./mvnw -B verify "$@"
