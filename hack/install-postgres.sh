#!/usr/bin/env bash
# Installs Debian's PostgreSQL server for PostgresReplicationIT (e2e/), which runs a primary and a streaming
# replica inside two simulated nodes and replicates across the overlay:
#   - postgresql   the server binaries under /usr/lib/postgresql/<major>/bin (initdb, postgres, pg_basebackup,
#                  psql, ...) and the `postgres` OS user the test runs them as (the server refuses root).
# The test finds the binaries by globbing /usr/lib/postgresql/*/bin (newest major wins), never a fixed version.
#
# Idempotent: does nothing when a complete bin directory and the `postgres` user exist (no apt call at all).
# Otherwise needs root and apt-get. On a machine where this script installs postgresql-common itself, it first
# turns off Debian's default cluster (create_main_cluster = false): the tests start their own servers in network
# namespaces, and a `main` cluster would only leave a server listening on 127.0.0.1:5432. A machine that already
# had postgresql-common keeps its own choice. Fails loudly if something is still missing afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh

TOOLS=(initdb postgres pg_ctl pg_basebackup psql)

# The newest /usr/lib/postgresql/<major>/bin holding every tool, or nothing.
bin_dir() {
  local d t best="" dirs
  mapfile -t dirs < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V) # an unmatched glob stays literal and fails -x
  for d in "${dirs[@]}"; do
    for t in "${TOOLS[@]}"; do
      [[ -x "${d}/${t}" ]] || continue 2
    done
    best="${d}"
  done
  printf '%s' "${best}"
}

present() {
  [[ -n "$(bin_dir)" ]] && getent passwd postgres >/dev/null && command -v setpriv >/dev/null 2>&1
}

if present; then
  log "PostgreSQL present: $("$(bin_dir)/postgres" --version) in $(bin_dir)"
  exit 0
fi

log "PostgreSQL server binaries or the postgres user missing; installing Debian's postgresql with apt-get"
[[ "$(id -u)" == "0" ]] || die "need root to apt-get install postgresql"
require_cmd apt-get
export DEBIAN_FRONTEND=noninteractive
apt_install() {
  if ! apt-get install -y -q --no-install-recommends "$@" >&2; then
    log "apt-get install failed; refreshing the package index and retrying once"
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends "$@" >&2
  fi
}
if ! dpkg-query -W -f='${Status}' postgresql-common 2>/dev/null | grep -q 'install ok installed'; then
  apt_install postgresql-common
  pg_conftool /etc/postgresql-common/createcluster.conf set create_main_cluster false
  log "postgresql-common installed; Debian's default cluster turned off (create_main_cluster = false)"
fi
apt_install postgresql
present || die "PostgreSQL still incomplete after the install: need ${TOOLS[*]} in one /usr/lib/postgresql/*/bin, the postgres user and setpriv"
log "PostgreSQL installed: $("$(bin_dir)/postgres" --version) in $(bin_dir)"
