#!/usr/bin/env bash
# Builds Mullvad's udp-over-tcp binaries (tcp2udp, udp2tcp) from the vendored source in ../shared/vendor
# (read-only: the build goes to ${DSTACK_CACHE:-~/.cache/dstack-vpn}/mullvad-udp-over-tcp) for the interop
# tests and the proxy benchmark. Idempotent and cached: cargo rebuilds nothing when the source and lock file
# are unchanged. Prints the directory holding the two binaries as its last line.
#
# MULLVAD_UDP_OVER_TCP_SRC overrides the source folder. Without cargo or the source it fails, and so do the
# interop tests (they never skip). Measured on 2 cores: 65 s cold (crates downloaded and compiled), 0.1 s warm.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh
# The source: MULLVAD_UDP_OVER_TCP_SRC, else ../shared/vendor next to this checkout, else next to the checkout
# this one was cloned from (a CI clone made elsewhere from a local repository).
find_src() {
  local origin
  [[ -n "${MULLVAD_UDP_OVER_TCP_SRC:-}" ]] && { echo "${MULLVAD_UDP_OVER_TCP_SRC}"; return; }
  echo "$(cd .. && pwd)/shared/vendor/mullvad-udp-over-tcp"
  origin="$(git config --get remote.origin.url 2>/dev/null || true)"
  [[ -d "${origin}" ]] && echo "$(cd "${origin}/.." && pwd)/shared/vendor/mullvad-udp-over-tcp"
}
SRC=""
while read -r candidate; do
  if [[ -f "${candidate}/Cargo.toml" ]]; then SRC="${candidate}"; break; fi
done < <(find_src)
[[ -n "$SRC" ]] || die "Mullvad udp-over-tcp source not found in $(find_src | tr '\n' ' ')(set MULLVAD_UDP_OVER_TCP_SRC)"
TARGET="$(dstack_cache_dir)/mullvad-udp-over-tcp"
BIN="$TARGET/release"
CARGO="${CARGO:-$(command -v cargo || echo "$HOME/.cargo/bin/cargo")}"
[[ -x "$CARGO" ]] || die "cargo not found (install a Rust toolchain, e.g. rustup) to build Mullvad's udp-over-tcp"
mkdir -p "$TARGET"
start=$(date +%s)
"$CARGO" build --quiet --release --locked --features clap --manifest-path "$SRC/Cargo.toml" --target-dir "$TARGET" >&2
for b in tcp2udp udp2tcp; do
  [[ -x "$BIN/$b" ]] || die "cargo finished but $BIN/$b is missing"
done
log "Mullvad udp-over-tcp ready in $(( $(date +%s) - start )) s: $BIN/{tcp2udp,udp2tcp}"
echo "$BIN"
