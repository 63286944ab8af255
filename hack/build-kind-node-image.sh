#!/usr/bin/env bash
# Builds a kind node image with no container registry: every piece comes from Debian's archive or the Go module
# proxy, or is built here. Prints the image's name on its last line.
#
#   hack/build-kind-node-image.sh            -> dstack-vpn.local/kind-node:v<KUBE_VERSION>-<inputs hash>
#
# What is in it and how it differs from kind's published image is in docs/kind.md. In short:
#   - root file system: Debian bookworm (mmdebstrap) with systemd, Debian's containerd 1.6 and runc, Debian's
#     CNI plugins, iptables; our own entrypoint, containerd config and kubelet units (hack/kind/node/);
#   - kubelet, kubeadm, kubectl and the control-plane images (kube-apiserver, kube-controller-manager,
#     kube-scheduler, kube-proxy) at KUBE_VERSION, built from k8s.io/kubernetes on the Go module proxy by
#     hack/provision-kube-binaries.sh; etcd and CoreDNS at the versions kubeadm asks for, built from their Go
#     modules; the pod sandbox (pause) built from hack/kind/pause/pause.c;
#   - pod networking by podnet (hack/kind/podnet/), a small DaemonSet in place of kindnetd, which the Go module
#     proxy does not serve; no local-path-provisioner (kind then installs its host-path StorageClass).
# Every image the cluster needs is preloaded into the node's containerd, so nothing is ever pulled.
#
# Cached: binaries under $(dstack_cache_dir)/kind-build, the images in docker. A second run with the same
# inputs finds the node image and returns at once. FORCE=1 rebuilds the node image (binaries stay cached).
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh

KUBE_VERSION="${KUBE_VERSION:-1.37.2}"
FORCE="${FORCE:-0}"
NODE_PACKAGES=(systemd systemd-sysv dbus containerd runc containernetworking-plugins iptables nftables conntrack
  iproute2 ethtool socat util-linux mount kmod procps ca-certificates libseccomp2 bash)
REPO="dstack-vpn.local"
CACHE="$(dstack_cache_dir)/kind-build"
mkdir -p "${CACHE}"

inputs_hash() {
  { printf '%s\n' "${KUBE_VERSION}" "${NODE_PACKAGES[@]}"
    cat "$0" hack/kind/node/* hack/kind/podnet/* hack/kind/pause/pause.c hack/build-rootfs-image.sh
  } | sha256sum | cut -c1-12
}
NODE_IMAGE="${REPO}/kind-node:v${KUBE_VERSION}-$(inputs_hash)"
if [[ "${FORCE}" != 1 ]] && docker image inspect "${NODE_IMAGE}" >/dev/null 2>&1; then
  log "node image ${NODE_IMAGE} is built already"
  echo "${NODE_IMAGE}"
  exit 0
fi
total_start=${SECONDS}

# ------------------------------------------------------------------------------------------------ binaries
log "Kubernetes v${KUBE_VERSION} binaries (hack/provision-kube-binaries.sh)"
K8S_BIN="$(NODE_BINARIES="kubelet kubeadm kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy" \
  KUBE_VERSION="${KUBE_VERSION}" hack/provision-kube-binaries.sh | tail -n 1)"
[[ -x "${K8S_BIN}/kubeadm" ]] || die "no kubeadm in ${K8S_BIN}"

# The images kubeadm will run, exactly as it names them (it never pulls: kind skips the preflight phase).
mapfile -t KUBEADM_IMAGES < <("${K8S_BIN}/kubeadm" config images list --kubernetes-version "v${KUBE_VERSION}" 2>/dev/null)
image_of() { # image_of NAME -> the reference kubeadm uses for registry.k8s.io/.../NAME
  local ref
  for ref in "${KUBEADM_IMAGES[@]}"; do
    [[ "${ref%:*}" == */"$1" ]] && { echo "${ref}"; return 0; }
  done
  die "kubeadm lists no image named $1: ${KUBEADM_IMAGES[*]}"
}
ETCD_REF="$(image_of etcd)"          # e.g. registry.k8s.io/etcd:3.7.0-0
COREDNS_REF="$(image_of coredns)"    # e.g. registry.k8s.io/coredns/coredns:v1.14.6
PAUSE_REF="$(image_of pause)"        # e.g. registry.k8s.io/pause:3.10.2
ETCD_VERSION="${ETCD_REF##*:}"; ETCD_VERSION="${ETCD_VERSION%-*}"
COREDNS_VERSION="${COREDNS_REF##*:v}"
grep -q "sandbox_image = \"${PAUSE_REF}\"" hack/kind/node/containerd-config.toml \
  || die "hack/kind/node/containerd-config.toml must name kubeadm's pause image ${PAUSE_REF} as sandbox_image"

# go_build_module MODULE VERSION PACKAGE OUT: builds PACKAGE from MODULE@VERSION (Go module proxy), static,
# in a wrapper module of its own under the cache; skipped when OUT exists.
go_build_module() {
  local module=$1 version=$2 pkg=$3 out=$4 dir start
  [[ -x "${out}" ]] && return 0
  dir="${CACHE}/$(echo "${module}" | tr '/' '_')-${version}"
  mkdir -p "${dir}"
  start=${SECONDS}
  log "go build ${pkg} from ${module}@v${version}"
  (
    cd "${dir}"
    export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0
    [[ -f go.mod ]] || printf 'module dstackvpn.local/build\n\ngo 1.26\n' >go.mod
    "$(go_bin)" get -tool "${pkg}@v${version}" >&2
    "$(go_bin)" build -trimpath -ldflags "-s -w" -o "${out}.tmp" "${pkg}"
  ) || die "go build of ${pkg}@v${version} failed (in ${dir})"
  mv -f "${out}.tmp" "${out}"
  log "built $(basename "${out}") in $((SECONDS - start)) s"
}
mkdir -p "${CACHE}/bin"
ETCD_BIN="${CACHE}/bin/etcd-${ETCD_VERSION}"
go_build_module go.etcd.io/etcd/server/v3 "${ETCD_VERSION}" go.etcd.io/etcd/server/v3 "${ETCD_BIN}"
[[ "$("${ETCD_BIN}" --version | head -n 1)" == "etcd Version: ${ETCD_VERSION}" ]] || die "${ETCD_BIN} is not etcd ${ETCD_VERSION}"
COREDNS_BIN="${CACHE}/bin/coredns-${COREDNS_VERSION}"
go_build_module github.com/coredns/coredns "${COREDNS_VERSION}" github.com/coredns/coredns "${COREDNS_BIN}"
PAUSE_BIN="${CACHE}/bin/pause"
if [[ ! -x "${PAUSE_BIN}" || hack/kind/pause/pause.c -nt "${PAUSE_BIN}" ]]; then
  require_cmd gcc
  gcc -Os -static -o "${PAUSE_BIN}" hack/kind/pause/pause.c || die "cannot build the pause binary (gcc -static needs libc6-dev)"
fi

# ------------------------------------------------------------------------------------------------ images
hack/build-rootfs-image.sh "${REPO}/debian:bookworm"
hack/build-rootfs-image.sh "${REPO}/debian-iptables:bookworm" iptables conntrack iproute2
hack/build-rootfs-image.sh "${REPO}/kind-node-rootfs:bookworm" "${NODE_PACKAGES[@]}"

# image_from REF DOCKERFILE [NAME=PATH...]: docker build of REF from the DOCKERFILE text, with each PATH in the
# build context as NAME.
image_from() {
  local ref=$1 dockerfile=$2 ctx file
  shift 2
  ctx="$(mktemp -d)"
  for file in "$@"; do cp "${file#*=}" "${ctx}/${file%%=*}"; done
  printf '%s\n' "${dockerfile}" >"${ctx}/Dockerfile"
  docker build -q -t "${ref}" "${ctx}" >/dev/null || die "docker build of ${ref} failed"
  rm -rf "${ctx}"
  log "image ${ref}"
}
# component_image REF BASE NAME BINARY: BINARY as /usr/local/bin/NAME on BASE, and the image's entrypoint
# (kubeadm's manifests give the command for most; CoreDNS's passes only arguments).
component_image() {
  image_from "$1" "FROM $2
COPY $3 /usr/local/bin/$3
ENTRYPOINT [\"/usr/local/bin/$3\"]" "$3=$4"
}
PRELOAD=()
for c in kube-apiserver kube-controller-manager kube-scheduler; do
  component_image "$(image_of "${c}")" "${REPO}/debian:bookworm" "${c}" "${K8S_BIN}/${c}"
  PRELOAD+=("$(image_of "${c}")")
done
component_image "$(image_of kube-proxy)" "${REPO}/debian-iptables:bookworm" kube-proxy "${K8S_BIN}/kube-proxy"
component_image "${ETCD_REF}" "${REPO}/debian:bookworm" etcd "${ETCD_BIN}"
component_image "${COREDNS_REF}" "${REPO}/debian:bookworm" coredns "${COREDNS_BIN}"
image_from "${PAUSE_REF}" 'FROM scratch
COPY pause /pause
USER 65535:65535
ENTRYPOINT ["/pause"]' "pause=${PAUSE_BIN}"
PODNET_REF="${REPO}/kind-podnet:latest"
image_from "${PODNET_REF}" "FROM ${REPO}/debian-iptables:bookworm
COPY kubectl podnet /usr/local/bin/
ENTRYPOINT [\"/usr/local/bin/podnet\"]" "kubectl=${K8S_BIN}/kubectl" podnet=hack/kind/podnet/podnet
PRELOAD+=("$(image_of kube-proxy)" "${ETCD_REF}" "${COREDNS_REF}" "${PAUSE_REF}" "${PODNET_REF}")

# ------------------------------------------------------------------------------------------------ node image
ctx="$(mktemp -d)"
cp -r hack/kind/node "${ctx}/files"
cp hack/kind/podnet/default-cni.yaml "${ctx}/files/default-cni.yaml"
mkdir -p "${ctx}/bin"
cp "${K8S_BIN}/kubelet" "${K8S_BIN}/kubeadm" "${K8S_BIN}/kubectl" "${ctx}/bin/"
cat >"${ctx}/Dockerfile" <<DOCKERFILE
FROM ${REPO}/kind-node-rootfs:bookworm
COPY bin/ /usr/bin/
COPY files/entrypoint /usr/local/bin/entrypoint
COPY files/containerd-config.toml /etc/containerd/config.toml
COPY files/kubelet.service files/kubelet.slice /etc/systemd/system/
COPY files/10-kubeadm.conf /etc/systemd/system/kubelet.service.d/10-kubeadm.conf
COPY files/kubelet.default /etc/default/kubelet
COPY files/99-kind-node.conf /etc/sysctl.d/99-kind-node.conf
COPY files/default-cni.yaml /kind/manifests/default-cni.yaml
RUN echo "v${KUBE_VERSION}" >/kind/version \\
 && mkdir -p /etc/kubernetes/manifests /etc/cni/net.d /opt/cni \\
 && ln -s /usr/lib/cni /opt/cni/bin \\
 && echo 'runtime-endpoint: unix:///run/containerd/containerd.sock' >/etc/crictl.yaml \\
 && echo 'ReadKMsg=no' >>/etc/systemd/journald.conf \\
 && systemctl enable kubelet.service containerd.service && systemctl set-default multi-user.target \\
 && systemctl mask systemd-binfmt.service getty.target console-getty.service systemd-logind.service \\
 && ln -sf /lib/systemd/systemd /sbin/init
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
DOCKERFILE
log "node image: root file system, Kubernetes binaries and configuration"
docker build -q -t "${REPO}/kind-node-unloaded:latest" "${ctx}" >/dev/null || die "docker build of the node image failed"
rm -rf "${ctx}"

log "node image: preloading ${#PRELOAD[@]} images into containerd (${PRELOAD[*]})"
builder="dstack-vpn-kind-node-build-$$"
tarball="${CACHE}/preload.tar"
docker save -o "${tarball}" "${PRELOAD[@]}"
cleanup_builder() { docker rm -f "${builder}" >/dev/null 2>&1 || true; rm -f "${tarball}"; }
trap cleanup_builder EXIT
docker run -d --name "${builder}" --privileged --entrypoint sleep -v "${tarball}:/preload.tar:ro" \
  "${REPO}/kind-node-unloaded:latest" infinity >/dev/null
docker exec "${builder}" bash -c '
  set -e
  containerd >/tmp/containerd.log 2>&1 &
  for i in $(seq 1 60); do ctr version >/dev/null 2>&1 && break; sleep 0.5; done
  ctr --namespace=k8s.io images import --all-platforms --no-unpack --digests /preload.tar >/dev/null
  ctr --namespace=k8s.io images list -q
  pkill containerd
  for i in $(seq 1 60); do pgrep -x containerd >/dev/null || exit 0; sleep 0.5; done
  exit 1' >"${CACHE}/preloaded.txt" || die "preloading images into the node image failed"
for ref in "${PRELOAD[@]}"; do
  grep -qx "${ref}" "${CACHE}/preloaded.txt" || grep -qx "docker.io/${ref}" "${CACHE}/preloaded.txt" \
    || die "image ${ref} missing from the node's containerd after the import"
done
docker commit --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' \
  "${builder}" "${NODE_IMAGE}" >/dev/null
cleanup_builder
trap - EXIT
docker tag "${NODE_IMAGE}" "${REPO}/kind-node:v${KUBE_VERSION}"
log "node image ${NODE_IMAGE} built in $((SECONDS - total_start)) s ($(docker image inspect -f '{{.Size}}' "${NODE_IMAGE}" | awk '{printf "%.0f MB", $1/1e6}'))"
echo "${NODE_IMAGE}"
