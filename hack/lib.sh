# shellcheck shell=bash
# Shared helpers for hack/*.sh scripts. Source it; it defines functions only and
# changes no shell options:   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Print a progress line to stderr, prefixed with the calling script's name.
log() {
  printf '[%s] %s\n' "$(basename "${0:-hack}")" "$*" >&2
}

# Print an error to stderr and exit non-zero.
die() {
  printf '[%s] ERROR: %s\n' "$(basename "${0:-hack}")" "$*" >&2
  exit 1
}

# Fail unless every named command is on PATH.
require_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || die "required command not found on PATH: $c"
  done
}

# Print the path of the go command: $GO, then PATH, then /usr/local/go/bin/go.
go_bin() {
  if [[ -n "${GO:-}" ]]; then
    printf '%s\n' "$GO"
  elif command -v go >/dev/null 2>&1; then
    command -v go
  elif [[ -x /usr/local/go/bin/go ]]; then
    printf '%s\n' /usr/local/go/bin/go
  else
    die "go not found (set GO=/path/to/go or put go on PATH)"
  fi
}

# Root of the per-user build cache shared by hack scripts.
dstack_cache_dir() {
  printf '%s\n' "${DSTACK_CACHE:-$HOME/.cache/dstack-vpn}"
}

# Put the kubectl the bootstrap built first on PATH, unless a kubectl is there already (call from the repo root).
ensure_kubectl_on_path() {
  command -v kubectl >/dev/null 2>&1 && return 0
  PATH="$(NODE_BINARIES=kubectl hack/provision-kube-binaries.sh | tail -n 1):${PATH}"
  export PATH
}
