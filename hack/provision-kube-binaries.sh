#!/usr/bin/env bash
# Build a real kube-apiserver, kubectl and etcd from the Go module proxy and install them where
# io.fabric8:kube-api-test looks for them:
#
#   ~/.kubeapitest/k8s/<KUBE_VERSION>-linux-amd64/{kube-apiserver,etcd,kubectl}
#
# kube-api-test picks the directory by name only (numeric "X.Y.Z" + "-linux-amd64"; it sorts the names
# with Integer.parseInt, so never put a non-numeric directory such as "1.37.2-dev-linux-amd64" there),
# needs all three files, and with them present makes no network call. It does not parse --version.
#
# How: two throw-away wrapper modules under ${DSTACK_CACHE:-~/.cache/dstack-vpn}/kube-build/
#   k8s-v<KUBE_VERSION>/  requires k8s.io/kubernetes v<KUBE_VERSION>, with a `replace` line pinning every
#                         k8s.io/* staging module it names (v0.0.0 => v0.<minor>.<patch>); the list is
#                         read from k8s.io/kubernetes' own go.mod, so it follows the release.
#   etcd-v<ETCD_VERSION>/ requires go.etcd.io/etcd/server/v3 (its root package is etcd's main), kept
#                         apart so the two dependency graphs never meet.
# Both binaries are built with CGO_ENABLED=0 -trimpath and stamped through -ldflags -X (gitVersion,
# gitMajor, gitMinor, gitTreeState, buildDate in k8s.io/component-base/version and
# k8s.io/client-go/pkg/version): clients read /version, and an unstamped build reports v0.0.0-master.
# The Go build cache and module cache are the go defaults and are kept between runs.
#
# Idempotent: exits at once when the three installed binaries report the wanted versions; a binary
# already built in the cache is reinstalled without rebuilding. FORCE=1 rebuilds everything.
#
# Measured on the 2-core, 24 GiB dev machine, Go 1.26.8, 2026-11-25:
#   cold (empty GOCACHE and GOMODCACHE): ~350 s in all = ~15 s go get/downloads (~750 MB of modules),
#     kube-apiserver 290 s, kubectl 22 s (shares most packages), etcd 21 s; ~3.1 GB Go build cache.
#   warm build cache, FORCE=1: 9-19 s.   Already installed: 0.15 s (no go command runs).
#   Results: kube-apiserver --version -> "Kubernetes v1.37.2"; kubectl version --client ->
#     "Client Version: v1.37.2" (Kustomize v5.8.1); etcd --version -> "etcd Version: 3.7.3";
#     GET /version -> gitVersion v1.37.2, major 1, minor 37, buildDate 2026-10-27T12:01:04Z.
#   Checked with io.fabric8:kube-api-test 7.5.2 (withApiServerVersion("1.37.2"), offline): etcd +
#   kube-apiserver up and `kubectl get ns default` answering in ~3.2 s; server-side apply works.
#
# Environment:
#   KUBE_VERSION    Kubernetes release, no "v" (default 1.37.2; the module proxy serves k8s.io/kubernetes
#                   1.34.x-1.37.2). kube-api-test takes the newest directory unless a version is asked for.
#   ETCD_VERSION    etcd release, no "v" (default 3.7.3; k8s 1.37's own hack/lib/etcd.sh uses 3.7.0).
#   KUBEAPITEST_DIR kube-api-test's directory (default ~/.kubeapitest).
#   DSTACK_CACHE    cache root (default ~/.cache/dstack-vpn).
#   FORCE=1         rebuild and reinstall even when everything is up to date.
#   NODE_BINARIES   extra k8s.io/kubernetes commands to build into the cache (not into kube-api-test's
#                   directory), e.g. "kubelet kubeadm kube-proxy" for the kind node image
#                   (hack/build-kind-node-image.sh); the script then prints their directory on its last line.
#   GO              go command to use (default: go on PATH, then /usr/local/go/bin/go).
#   GOTOOLCHAIN     passed through; a release that needs a newer Go than the local one fails with a
#                   hint to export GOTOOLCHAIN=go1.27.3.
set -Eeuo pipefail

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/lib.sh
source "${HACK_DIR}/lib.sh"

trap 'die "command failed (exit $?) at line ${LINENO}: ${BASH_COMMAND}"' ERR

KUBE_VERSION="${KUBE_VERSION:-1.37.2}"
KUBE_VERSION="${KUBE_VERSION#v}"
ETCD_VERSION="${ETCD_VERSION:-3.7.3}"
ETCD_VERSION="${ETCD_VERSION#v}"
KUBEAPITEST_DIR="${KUBEAPITEST_DIR:-$HOME/.kubeapitest}"
FORCE="${FORCE:-0}"

[[ "$KUBE_VERSION" =~ ^1\.([0-9]+)\.([0-9]+)$ ]] \
  || die "KUBE_VERSION must look like 1.37.2 (got '${KUBE_VERSION}')"
KUBE_MINOR="${BASH_REMATCH[1]}"
KUBE_PATCH="${BASH_REMATCH[2]}"
STAGING_VERSION="v0.${KUBE_MINOR}.${KUBE_PATCH}"
[[ "$ETCD_VERSION" =~ ^3\.[0-9]+\.[0-9]+$ ]] \
  || die "ETCD_VERSION must look like 3.7.3 (got '${ETCD_VERSION}')"

# Native builds only; the directory suffix is kube-api-test's "-<os>-<arch>".
[[ "$(uname -s)" == Linux ]] || die "only Linux is supported (uname -s = $(uname -s))"
case "$(uname -m)" in
  x86_64 | amd64) ARCH=amd64 ;;
  aarch64 | arm64) ARCH=arm64 ;;
  *) die "unsupported CPU architecture: $(uname -m)" ;;
esac

DEST="${KUBEAPITEST_DIR}/k8s/${KUBE_VERSION}-linux-${ARCH}"
BUILD_ROOT="$(dstack_cache_dir)/kube-build"
K8S_DIR="${BUILD_ROOT}/k8s-v${KUBE_VERSION}"
ETCD_DIR="${BUILD_ROOT}/etcd-v${ETCD_VERSION}"

# --- version checks (true when the binary at $1 is the wanted one) ---------------------------------
# Output is captured before matching: `cmd | grep -q` under pipefail fails when grep exits early and
# cmd dies of SIGPIPE.
first_line_of() { # first_line_of BINARY ARGS... -> first line of its output ("" when it fails)
  local out
  out="$("$@" 2>/dev/null)" || return 0
  printf '%s\n' "${out%%$'\n'*}"
}
apiserver_ok() {
  [[ -x "$1" ]] && [[ "$(first_line_of "$1" --version)" == "Kubernetes v${KUBE_VERSION}" ]]
}
kubectl_ok() {
  [[ -x "$1" ]] && [[ "$(first_line_of "$1" version --client)" == "Client Version: v${KUBE_VERSION}" ]]
}
etcd_ok() {
  [[ -x "$1" ]] && [[ "$(first_line_of "$1" --version)" == "etcd Version: ${ETCD_VERSION}" ]]
}
kubeadm_ok() {
  [[ -x "$1" ]] && [[ "$(first_line_of "$1" version -o short)" == "v${KUBE_VERSION}" ]]
}
component_ok() { # kubelet, kube-proxy, kube-scheduler, kube-controller-manager
  [[ -x "$1" ]] && [[ "$(first_line_of "$1" --version)" == "Kubernetes v${KUBE_VERSION}" ]]
}
check() { # check NAME PATH
  case "$1" in
    kube-apiserver) apiserver_ok "$2" ;;
    kubectl) kubectl_ok "$2" ;;
    etcd) etcd_ok "$2" ;;
    kubeadm) kubeadm_ok "$2" ;;
    *) component_ok "$2" ;;
  esac
}
read -r -a NODE_BINARIES <<<"${NODE_BINARIES:-}"
for b in "${NODE_BINARIES[@]}"; do
  [[ "$b" =~ ^(kubelet|kubeadm|kubectl|kube-apiserver|kube-controller-manager|kube-scheduler|kube-proxy)$ ]] \
    || die "NODE_BINARIES: unknown command '${b}'"
done

# node_binaries_ok: every NODE_BINARIES command is built in the cache at the wanted version.
node_binaries_ok() {
  local b
  for b in "${NODE_BINARIES[@]}"; do
    check "$b" "${K8S_DIR}/bin/$b" || return 1
  done
}

BINARIES=(kube-apiserver kubectl etcd)

if [[ "$FORCE" != 1 ]]; then
  all_ok=1
  for b in "${BINARIES[@]}"; do
    check "$b" "${DEST}/$b" || { all_ok=0; break; }
  done
  if [[ "$all_ok" == 1 ]] && node_binaries_ok; then
    log "up to date: ${DEST} (kube-apiserver/kubectl v${KUBE_VERSION}, etcd ${ETCD_VERSION})"
    ((${#NODE_BINARIES[@]} == 0)) || echo "${K8S_DIR}/bin"
    exit 0
  fi
fi

log "provisioning kube-apiserver + kubectl v${KUBE_VERSION} and etcd v${ETCD_VERSION} into ${DEST}"
GO="$(go_bin)" || exit 1
[[ -x "$GO" ]] || die "go command is not executable: $GO"
[[ "$("$GO" env GOOS)/$("$GO" env GOARCH)" == "linux/${ARCH}" ]] \
  || die "go builds for $("$GO" env GOOS)/$("$GO" env GOARCH), expected linux/${ARCH} (unset GOOS/GOARCH)"
export GOFLAGS="-mod=mod"   # the wrappers have no vendor dir; ignore any user GOFLAGS such as -mod=vendor
export GOWORK=off           # never pick up a stray go.work
export CGO_ENABLED=0
log "using $("$GO" version) (${GO}); build dirs under ${BUILD_ROOT}"
mkdir -p "$BUILD_ROOT"   # $DEST is created only once all three binaries are built

# One provisioning at a time (parallel test modules may call this script together).
if command -v flock >/dev/null 2>&1; then
  exec 9>"${BUILD_ROOT}/.lock"
  flock 9 || die "cannot lock ${BUILD_ROOT}/.lock"
fi

go_too_old_hint() {
  log "if the error above says the module 'requires go >= 1.27', run again with: export GOTOOLCHAIN=go1.27.3"
}

# Set MOD_FIELD to field $2 ("GoMod", "Info", ...) of `go mod download -json $1`, or die.
# (Results go through globals, not $(...), so that die() exits the script, not a subshell.)
mod_download_field() {
  local out
  if ! out="$(cd "$BUILD_ROOT" && "$GO" mod download -json "$1" 2>&1)"; then
    printf '%s\n' "$out" >&2
    die "cannot fetch $1 from the Go module proxy ($("$GO" env GOPROXY)); is this version served?"
  fi
  MOD_FIELD="$(printf '%s\n' "$out" | sed -n "s/^[[:space:]]*\"$2\": \"\(.*\)\",\{0,1\}\$/\1/p")"
  [[ -n "$MOD_FIELD" && -f "$MOD_FIELD" ]] || die "go mod download -json $1 gave no $2 file"
}

# Set RELEASE_DATE to the release time in the module proxy's .info (used as buildDate, so that
# builds are reproducible).
release_date() {
  mod_download_field "$1" Info
  RELEASE_DATE="$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$MOD_FIELD")"
}

# --- kube-apiserver + kubectl --------------------------------------------------------------------
resolve_k8s_module() {
  if [[ -f "${K8S_DIR}/.resolved" && -f "${K8S_DIR}/go.mod" ]]; then
    return 0
  fi
  log "resolving k8s.io/kubernetes@v${KUBE_VERSION} (staging modules => ${STAGING_VERSION})"
  local gomod staging go_line
  mod_download_field "k8s.io/kubernetes@v${KUBE_VERSION}" GoMod
  gomod="$MOD_FIELD"
  # Every module that k8s.io/kubernetes replaces with ./staging/src/... is published as v0.X.Y.
  staging="$(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$gomod")"
  [[ -n "$staging" ]] || die "found no staging replace lines in ${gomod}"
  go_line="$(grep -m1 '^go [0-9]' "$gomod" || true)"
  [[ -n "$go_line" ]] || die "no go directive in ${gomod}"
  rm -rf "$K8S_DIR"
  mkdir -p "$K8S_DIR"
  {
    printf 'module dstackvpn.local/kube-build\n\n%s\n\n' "$go_line"
    # Same default GODEBUG settings as the upstream build.
    grep '^godebug ' "$gomod" || true
    printf '\nrequire k8s.io/kubernetes v%s\n\nreplace (\n' "$KUBE_VERSION"
    local m
    for m in $staging; do
      printf '\t%s => %s %s\n' "$m" "$m" "$STAGING_VERSION"
    done
    printf ')\n'
  } >"${K8S_DIR}/go.mod"
  log "wrapper module ${K8S_DIR}/go.mod pins $(wc -w <<<"$staging") staging modules; go get (downloads dependencies)"
  if ! (cd "$K8S_DIR" && "$GO" get -tool \
      "k8s.io/kubernetes/cmd/kube-apiserver@v${KUBE_VERSION}" \
      "k8s.io/kubernetes/cmd/kubectl@v${KUBE_VERSION}"); then
    go_too_old_hint
    die "go get failed in ${K8S_DIR} (a staging module ${STAGING_VERSION} may not be served)"
  fi
  touch "${K8S_DIR}/.resolved"
}

# The wrapper's go.sum covers only the tools it was resolved with: add the node commands the first time.
resolve_node_tools() {
  resolve_k8s_module
  local b missing=()
  for b in "${NODE_BINARIES[@]}"; do
    grep -q "k8s.io/kubernetes/cmd/${b}\$" "${K8S_DIR}/go.mod" || missing+=("k8s.io/kubernetes/cmd/${b}@v${KUBE_VERSION}")
  done
  ((${#missing[@]} == 0)) && return 0
  log "go get -tool ${missing[*]}"
  (cd "$K8S_DIR" && "$GO" get -tool "${missing[@]}") || die "go get -tool failed in ${K8S_DIR}"
}

# build_node_binaries: one go build for every missing node command (the packages they share compile once).
build_node_binaries() {
  local b pkgs=() start
  for b in "${NODE_BINARIES[@]}"; do
    [[ "$FORCE" != 1 ]] && check "$b" "${K8S_DIR}/bin/$b" && continue
    pkgs+=("k8s.io/kubernetes/cmd/${b}")
  done
  ((${#pkgs[@]} == 0)) && return 0
  resolve_node_tools
  mkdir -p "${K8S_DIR}/bin/.node"
  k8s_ldflags
  log "go build ${pkgs[*]} (cold: several minutes on 2 cores)"
  start=$SECONDS
  (cd "$K8S_DIR" && "$GO" build -trimpath -ldflags "$LDFLAGS" -o "${K8S_DIR}/bin/.node/" "${pkgs[@]}") \
    || die "go build of the node binaries failed in ${K8S_DIR}"
  for b in "${pkgs[@]}"; do
    b="${b##*/}"
    mv -f "${K8S_DIR}/bin/.node/${b}" "${K8S_DIR}/bin/${b}"
    check "$b" "${K8S_DIR}/bin/${b}" || die "${b} built but does not report v${KUBE_VERSION}"
  done
  log "node binaries built in $((SECONDS - start))s"
}

k8s_ldflags() { # sets LDFLAGS
  local flags="-s -w" pkg
  release_date "k8s.io/kubernetes@v${KUBE_VERSION}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X ${pkg}.gitVersion=v${KUBE_VERSION}"
    flags+=" -X ${pkg}.gitMajor=1"
    flags+=" -X ${pkg}.gitMinor=${KUBE_MINOR}"
    flags+=" -X ${pkg}.gitTreeState=clean"
    [[ -n "$RELEASE_DATE" ]] && flags+=" -X ${pkg}.buildDate=${RELEASE_DATE}"
  done
  LDFLAGS="$flags"
}

build_k8s() { # build_k8s NAME
  local name="$1" out="${K8S_DIR}/bin/$1" start
  if [[ "$FORCE" != 1 ]] && check "$name" "$out"; then
    log "${name}: cached build ${out} is v${KUBE_VERSION}"
    return 0
  fi
  resolve_k8s_module
  mkdir -p "${K8S_DIR}/bin"
  log "${name}: go build k8s.io/kubernetes/cmd/${name} (a cold build takes several minutes on 2 cores)"
  k8s_ldflags
  start=$SECONDS
  if ! (cd "$K8S_DIR" && "$GO" build -trimpath -ldflags "$LDFLAGS" -o "${out}.tmp" \
      "k8s.io/kubernetes/cmd/${name}"); then
    go_too_old_hint
    die "go build of ${name} failed in ${K8S_DIR}"
  fi
  mv -f "${out}.tmp" "$out"
  check "$name" "$out" || die "${name} built but does not report v${KUBE_VERSION} (see: ${out} --version)"
  log "${name}: built in $((SECONDS - start))s"
}

# --- etcd ----------------------------------------------------------------------------------------
resolve_etcd_module() {
  if [[ -f "${ETCD_DIR}/.resolved" && -f "${ETCD_DIR}/go.mod" ]]; then
    return 0
  fi
  log "resolving go.etcd.io/etcd/server/v3@v${ETCD_VERSION}"
  local gomod go_line
  mod_download_field "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}" GoMod
  gomod="$MOD_FIELD"
  go_line="$(grep -m1 '^go [0-9]' "$gomod" || true)"
  [[ -n "$go_line" ]] || die "no go directive in ${gomod}"
  rm -rf "$ETCD_DIR"
  mkdir -p "$ETCD_DIR"
  printf 'module dstackvpn.local/etcd-build\n\n%s\n' "$go_line" >"${ETCD_DIR}/go.mod"
  if ! (cd "$ETCD_DIR" && "$GO" get -tool "go.etcd.io/etcd/server/v3@v${ETCD_VERSION}"); then
    go_too_old_hint
    die "go get go.etcd.io/etcd/server/v3@v${ETCD_VERSION} failed in ${ETCD_DIR}"
  fi
  touch "${ETCD_DIR}/.resolved"
}

build_etcd() {
  local out="${ETCD_DIR}/bin/etcd" start
  if [[ "$FORCE" != 1 ]] && etcd_ok "$out"; then
    log "etcd: cached build ${out} is ${ETCD_VERSION}"
    return 0
  fi
  resolve_etcd_module
  mkdir -p "${ETCD_DIR}/bin"
  # go.etcd.io/etcd/server/v3 (the module root) is etcd's `package main` (it calls etcdmain.Main).
  log "etcd: go build go.etcd.io/etcd/server/v3"
  start=$SECONDS
  if ! (cd "$ETCD_DIR" && "$GO" build -trimpath -ldflags "-s -w" -o "${out}.tmp" go.etcd.io/etcd/server/v3); then
    go_too_old_hint
    die "go build of etcd failed in ${ETCD_DIR}"
  fi
  mv -f "${out}.tmp" "$out"
  etcd_ok "$out" || die "etcd built but does not report ${ETCD_VERSION}: $(first_line_of "$out" --version)"
  log "etcd: built in $((SECONDS - start))s"
}

# --- build what is missing, then install ---------------------------------------------------------
# Everything is built before $DEST is touched: kube-api-test takes the newest X.Y.Z-linux-amd64
# directory when no version is asked for, so a half-filled directory must never appear there.
total_start=$SECONDS
declare -A SRC=()
for b in "${BINARIES[@]}"; do
  if [[ "$FORCE" != 1 ]] && check "$b" "${DEST}/$b"; then
    log "${b}: installed copy is already right"
    continue
  fi
  case "$b" in
    etcd) build_etcd; SRC[$b]="${ETCD_DIR}/bin/etcd" ;;
    *) build_k8s "$b"; SRC[$b]="${K8S_DIR}/bin/$b" ;;
  esac
done
mkdir -p "$DEST"
for b in "${!SRC[@]}"; do
  install -m 0755 "${SRC[$b]}" "${DEST}/.${b}.tmp"
  mv -f "${DEST}/.${b}.tmp" "${DEST}/${b}"
  log "${b}: installed ${DEST}/${b}"
done

for b in "${BINARIES[@]}"; do
  check "$b" "${DEST}/$b" || die "${DEST}/${b} does not report the expected version after install"
done
log "done in $((SECONDS - total_start))s:"
log "  $("${DEST}/kube-apiserver" --version)"
log "  kubectl $(first_line_of "${DEST}/kubectl" version --client)"
log "  $(first_line_of "${DEST}/etcd" --version)"
log "kube-api-test: KubeAPIServerConfigBuilder...withApiServerVersion(\"${KUBE_VERSION}\").withOfflineMode(true)"
if ((${#NODE_BINARIES[@]} > 0)); then
  build_node_binaries
  echo "${K8S_DIR}/bin"
fi
