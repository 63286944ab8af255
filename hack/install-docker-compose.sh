#!/usr/bin/env bash
# docker-compose for the kind e2e's standalone node (hack/kind/e2e/standalone.sh): Debian's package (compose v1,
# which reads the same compose files as v2). Idempotent: does nothing when `docker-compose` already answers.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh
command -v docker-compose >/dev/null 2>&1 && exit 0
require_cmd apt-get
log "installing Debian's docker-compose"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends docker-compose >/dev/null \
  || { apt-get update >/dev/null && apt-get install -y --no-install-recommends docker-compose >/dev/null; }
command -v docker-compose >/dev/null || die "docker-compose did not install"
