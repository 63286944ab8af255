#!/usr/bin/env bash
# Installs the chain tooling the tests and the demo use, from npm, pinned by contracts/package-lock.json:
#   - anvil 1.7.1 (@foundry-rs/anvil; the native binary in
#     contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil, run directly by the tests);
#   - solc-js and @openzeppelin/contracts, to compile contracts/src (contracts/build.mjs).
# Then checks that anvil reports the pinned version and that the checked-in artifact
# contracts/build/DstackAccessNFT.json matches the source (node contracts/build.mjs --check).
#
# Idempotent: `npm ci` runs only when contracts/node_modules is missing or package-lock.json changed since
# the last install (stamp: contracts/node_modules/.dstack-lock.sha256, holding the lock's sha256).
# FORCE=1 reinstalls. Prints the anvil binary's path on stdout at the end.
#
# Measured on the 2-core dev machine: cold (no node_modules) ~5 s in all (npm ci ~2.5 s); already installed
# ~1.7 s, nearly all of it the --check compile (solc-js, 1.2-2.2 s).
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh

ANVIL_VERSION="1.7.1"
CONTRACTS="contracts"
ANVIL="${CONTRACTS}/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
STAMP="${CONTRACTS}/node_modules/.dstack-lock.sha256"

require_cmd node npm sha256sum
[[ "$(uname -s)-$(uname -m)" == "Linux-x86_64" ]] \
  || die "only linux-amd64 is wired up (anvil binary path ${ANVIL}); got $(uname -s)-$(uname -m)"

lock_sha="$(sha256sum "${CONTRACTS}/package-lock.json" | cut -d' ' -f1)"
if [[ "${FORCE:-0}" == "1" || ! -d "${CONTRACTS}/node_modules" || ! -x "${ANVIL}" \
      || "$(cat "${STAMP}" 2>/dev/null || true)" != "${lock_sha}" ]]; then
  log "npm ci in ${CONTRACTS}/ (anvil ${ANVIL_VERSION}, solc-js, OpenZeppelin)"
  # --ignore-scripts: the only install script is @foundry-rs/anvil's postinstall, a fallback that downloads
  # the binary when the platform package (an optional dependency, installed by npm ci) is missing.
  (cd "${CONTRACTS}" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2
  printf '%s\n' "${lock_sha}" >"${STAMP}"
else
  log "${CONTRACTS}/node_modules up to date with package-lock.json"
fi

[[ -x "${ANVIL}" ]] || die "${ANVIL} is missing after npm ci (is @foundry-rs/anvil-linux-amd64 in package-lock.json?)"
version_line="$("${ANVIL}" --version | head -n 1)"
[[ "${version_line}" == "anvil Version: ${ANVIL_VERSION}" ]] \
  || die "expected anvil ${ANVIL_VERSION}, ${ANVIL} says: ${version_line}"
log "${version_line}"

node "${CONTRACTS}/build.mjs" --check >&2 \
  || die "contracts/build/DstackAccessNFT.json does not match the source: run node contracts/build.mjs and commit it"

printf '%s\n' "$(pwd)/${ANVIL}"
