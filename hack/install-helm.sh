#!/usr/bin/env bash
# Installs helm from the Go module proxy into ${DSTACK_CACHE:-~/.cache/dstack-vpn}/bin (idempotent, cached),
# for the chart tests. Uses a helm already on PATH when its version matches.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh
HELM_VERSION="${HELM_VERSION:-v3.19.0}"
BIN="$(dstack_cache_dir)/bin"
mkdir -p "$BIN"
if [[ -x "$BIN/helm" ]] && "$BIN/helm" version --short 2>/dev/null | grep -q "^${HELM_VERSION}"; then
  log "helm ${HELM_VERSION} present: $BIN/helm"
  exit 0
fi
log "building helm ${HELM_VERSION} from the Go module proxy (about 2 minutes the first time)"
GOBIN="$BIN" CGO_ENABLED=0 "$(go_bin)" install -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}" \
  "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
"$BIN/helm" version --short
