#!/usr/bin/env bash
# Builds a Debian bookworm image from Debian's archive, with no registry: mmdebstrap makes a root file system,
# `docker import` turns it into an image. The tarball is cached under $(dstack_cache_dir)/rootfs, keyed by the
# package list, so a second run only imports (or does nothing when the image exists).
#
#   hack/build-rootfs-image.sh IMAGE_TAG [PACKAGE...]
#
# IMAGE_TAG is labelled with the hash of its package list; an existing image with the same hash is kept.
# Used for our base image (dstack-vpn/debian:bookworm, hack/build-images.sh) and for the kind node image's
# root file system (hack/build-kind-node-image.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh

[[ $# -ge 1 ]] || die "usage: $0 IMAGE_TAG [PACKAGE...]"
tag=$1
shift
packages=("$@")
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE="${DEBIAN_SUITE:-bookworm}"

# The recipe below is part of the key: a change to it builds a new tarball.
RECIPE="minbase merged-usr-hook no-docs v2"
key="$(printf '%s\n' "${SUITE}" "${RECIPE}" "${packages[@]}" | sort | sha256sum | cut -c1-16)"
if [[ "$(docker image inspect -f '{{index .Config.Labels "io.dstack-vpn.rootfs"}}' "${tag}" 2>/dev/null || true)" == "${key}" ]]; then
  log "${tag}: up to date (rootfs ${key})"
  exit 0
fi
cache="$(dstack_cache_dir)/rootfs"
tarball="${cache}/${SUITE}-${key}.tar"
mkdir -p "${cache}"
if [[ ! -s "${tarball}" ]]; then
  if ! command -v mmdebstrap >/dev/null 2>&1; then
    [[ "$(id -u)" == 0 ]] || die "mmdebstrap is missing: apt-get install mmdebstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mmdebstrap >&2
  fi
  include="$(IFS=,; echo "${packages[*]}")"
  log "${tag}: mmdebstrap ${SUITE} minbase${include:+ + ${include}}"
  start=${SECONDS}
  # No documentation, man pages or apt lists in the image; apt stays usable (apt-get update first). The
  # merged-usr hook gives the merged /usr layout without the usrmerge package, which would pull in perl (~50 MB).
  hooks=()
  [[ -d /usr/share/mmdebstrap/hooks/merged-usr ]] && hooks=(--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
  mmdebstrap --variant=minbase --format=tar "${hooks[@]}" ${include:+--include="${include}"} \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "${SUITE}" "${tarball}.tmp" "${MIRROR}" >&2
  mv -f "${tarball}.tmp" "${tarball}"
  log "${tag}: rootfs built in $((SECONDS - start)) s ($(du -h "${tarball}" | cut -f1))"
fi
docker import --change "LABEL io.dstack-vpn.rootfs=${key}" --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' "${tarball}" "${tag}" >/dev/null
log "${tag}: imported ($(docker image inspect -f '{{.Size}}' "${tag}" | awk '{printf "%.0f MB", $1/1e6}'))"
