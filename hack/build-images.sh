#!/usr/bin/env bash
# Builds the product's images: ghcr.io/dstack-vpn/{operator,agent,proxy}:${TAG}, from operator/Dockerfile,
# agent-daemonset/Dockerfile and proxy/Dockerfile (the jars are built first with Maven, tests skipped).
#
# The Dockerfiles take two build arguments: BASE_IMAGE (a Debian; default debian:bookworm-slim) and JDK_IMAGE
# (a JDK to jlink a trimmed runtime from; default eclipse-temurin:25-jdk). Where those can be pulled, they are
# used as they are. Where no registry answers (our CI machines), both are made here instead:
#   dstack-vpn.local/debian:bookworm  Debian's archive through mmdebstrap (hack/build-rootfs-image.sh);
#   dstack-vpn.local/jdk:<version>    that Debian plus this machine's JDK (JAVA_HOME, hack/env.sh).
# LOCAL_BASE=1 forces the local pair; LOCAL_BASE=0 forces the registry pair.
#
# Settings: TAG (dev), SKIP_MAVEN (0), IMAGE_PREFIX (ghcr.io/dstack-vpn). Prints each image with its size.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh
source hack/env.sh

TAG="${TAG:-dev}"
PREFIX="${IMAGE_PREFIX:-ghcr.io/dstack-vpn}"
require_cmd docker
docker info >/dev/null 2>&1 || die "no Docker engine answers (hack/docker-engine.sh start)"

if [[ "${SKIP_MAVEN:-0}" != 1 ]]; then
  log "building the operator, agent and proxy jars (tests skipped)"
  ./mvnw -B -q -DskipTests -pl operator,agent-daemonset,proxy -am package
fi

BASE_IMAGE="${BASE_IMAGE:-debian:bookworm-slim}"
JDK_IMAGE="${JDK_IMAGE:-eclipse-temurin:25-jdk}"
local_base="${LOCAL_BASE:-}"
if [[ -z "${local_base}" ]]; then
  local_base=0
  for ref in "${BASE_IMAGE}" "${JDK_IMAGE}"; do
    docker image inspect "${ref}" >/dev/null 2>&1 || docker pull -q "${ref}" >/dev/null 2>&1 || local_base=1
  done
  ((local_base == 1)) && log "no registry serves ${BASE_IMAGE} / ${JDK_IMAGE}: building both locally"
fi
if [[ "${local_base}" == 1 ]]; then
  BASE_IMAGE="dstack-vpn.local/debian:bookworm"
  hack/build-rootfs-image.sh "${BASE_IMAGE}"
  jdk_version="$("${JAVA_HOME}/bin/java" -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.runtime.version/ {print $2}')"
  JDK_IMAGE="dstack-vpn.local/jdk:${jdk_version//+/_}"
  if ! docker image inspect "${JDK_IMAGE}" >/dev/null 2>&1; then
    log "${JDK_IMAGE}: ${BASE_IMAGE} + ${JAVA_HOME}"
    # Same layout as the eclipse-temurin images: the JDK in /opt/java/openjdk, its bin on PATH. The context is
    # a tar with symlinks followed: Debian's JDK packages link lib/security/cacerts to /etc/ssl/certs/java.
    ctx="$(mktemp -d)"
    printf 'FROM %s\nCOPY jdk /opt/java/openjdk\nENV JAVA_HOME=/opt/java/openjdk PATH=/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n' \
      "${BASE_IMAGE}" >"${ctx}/Dockerfile"
    tar -c -h -C "${ctx}" Dockerfile --transform 's,^\./,jdk/,' -C "${JAVA_HOME}" . \
      | docker build -q -t "${JDK_IMAGE}" - >/dev/null || die "docker build of ${JDK_IMAGE} failed"
    rm -rf "${ctx}"
  fi
fi

build() { # build NAME CONTEXT
  local ref="${PREFIX}/$1:${TAG}" start=${SECONDS}
  docker build -q --build-arg "BASE_IMAGE=${BASE_IMAGE}" --build-arg "JDK_IMAGE=${JDK_IMAGE}" -t "${ref}" "$2" >/dev/null \
    || die "docker build of ${ref} failed"
  log "${ref}: $(docker image inspect -f '{{.Size}}' "${ref}" | awk '{printf "%.0f MB", $1/1e6}') (built in $((SECONDS - start)) s)"
}
build operator operator/
build agent agent-daemonset/
build proxy proxy/
