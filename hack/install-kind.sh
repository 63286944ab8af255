#!/usr/bin/env bash
# Installs kind (sigs.k8s.io/kind, KIND_VERSION, default v0.33.0) from the Go module proxy into
# $(dstack_cache_dir)/bin and prints its path. Idempotent: an installed binary of the right version is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh

KIND_VERSION="${KIND_VERSION:-v0.33.0}"
bin="$(dstack_cache_dir)/bin"
kind="${bin}/kind"
if [[ -x "${kind}" && "$("${kind}" version 2>/dev/null)" == "kind ${KIND_VERSION} "* ]]; then
  echo "${kind}"
  exit 0
fi
mkdir -p "${bin}"
log "installing kind ${KIND_VERSION} from the Go module proxy"
GOBIN="${bin}" GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0 "$(go_bin)" install "sigs.k8s.io/kind@${KIND_VERSION}" >&2 \
  || die "go install sigs.k8s.io/kind@${KIND_VERSION} failed"
"${kind}" version >&2
echo "${kind}"
