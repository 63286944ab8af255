#!/bin/sh
# Makes the agent's ahead-of-time cache (JDK 25, JEP 483/514): loaded and linked classes, and the profiles of a
# training run, which a later `java -XX:AOTCache=<file>` with the same java, jar path and flags maps instead of
# loading and linking them again. The training run is the agent starting against an API server that is not
# there: it loads its key, builds the fabric8 client and the VpnPeer it would publish, fails to reach the server
# and exits 1 (expected). Used by the Dockerfile (at image build, with the image's own java) and by
# hack/bench-agent-footprint.sh.
#
#   aot-training.sh <cache file> <java options...> -jar <agent jar>
set -eu
cache="$1"
shift
# The options file the ENTRYPOINT reads next to the cache: -XX:AOTCache=<cache>, or nothing on a JDK before 25
# (no AOT cache there; an unknown -XX flag would stop the JVM). A JDK 25+ that fails to make the cache fails the build.
options="$(dirname "${cache}")/aot.options"
feature="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
if [ "${feature%%.*}" -lt 25 ]; then
  echo "aot-training.sh: java ${feature} has no AOT cache (JDK 25+); the agent starts without one" >&2
  : >"${options}"
  exit 0
fi
scratch="$(mktemp -d)"
trap 'rm -rf "${scratch}"' EXIT
printf 'apiVersion: v1\nkind: Config\nclusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]\ncontexts: [{name: none, context: {cluster: none, user: none}}]\ncurrent-context: none\nusers: [{name: none, user: {token: training}}]\n' >"${scratch}/kubeconfig"
KUBECONFIG="${scratch}/kubeconfig" NAMESPACE=training NETWORK=training NODE_ID=training KEY_DIR="${scratch}/keys" \
  WG_BACKEND=memory ENDPOINT=127.0.0.1:51820 HTTP_PORT=0 KUBERNETES_REQUEST_RETRY_BACKOFFLIMIT=0 \
  java -XX:AOTCacheOutput="${cache}" "$@" >"${scratch}/log" 2>&1 || true
if [ ! -s "${cache}" ]; then
  cat "${scratch}/log" >&2
  echo "aot-training.sh: no AOT cache at ${cache}" >&2
  exit 1
fi
printf -- "-XX:AOTCache=%s\n" "$(basename "${cache}")" >"${options}"
