#!/usr/bin/env bash
# Checks hack/runc-capfix on OCI spec files, with a fake runc that records its arguments:
#   create: the missing capability leaves every list of the bundle's config.json, the others stay;
#   exec:   the same for the --process file (also in the --process=FILE form);
#   any other command, and the arguments themselves, reach runc unchanged.
# Run by hack/docker-engine.sh before it registers the wrapper with dockerd; exits non-zero on the first
# failed check.
set -euo pipefail
cd "$(dirname "$0")/../../.."
source hack/lib.sh
require_cmd jq

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT
printf '#!/bin/sh\nprintf "%%s\\n" "$@" >"%s/args"\n' "${tmp}" >"${tmp}/runc"
chmod +x "${tmp}/runc"
export RUNC_CAPFIX_REAL="${tmp}/runc" RUNC_CAPFIX_DROP="CAP_SYS_RESOURCE CAP_BPF"
caps='["CAP_CHOWN","CAP_SYS_RESOURCE","CAP_NET_ADMIN","CAP_BPF"]'
want='["CAP_CHOWN","CAP_NET_ADMIN"]'
fail() { echo "runc-capfix test: FAIL: $*" >&2; exit 1; }

mkdir -p "${tmp}/bundle"
jq -n --argjson c "${caps}" '{ociVersion: "1.0.2", process: {args: ["sh"], capabilities:
  {bounding: $c, effective: $c, permitted: $c, inheritable: $c, ambient: $c}}, hostname: "x"}' >"${tmp}/bundle/config.json"
hack/runc-capfix --root /run/x --log /dev/null create --bundle "${tmp}/bundle" --pid-file "${tmp}/pid" ctr1
for list in bounding effective permitted inheritable ambient; do
  got="$(jq -c ".process.capabilities.${list}" "${tmp}/bundle/config.json")"
  [[ "${got}" == "${want}" ]] || fail "create: ${list} is ${got}, want ${want}"
done
[[ "$(jq -r .hostname "${tmp}/bundle/config.json")" == x ]] || fail "create: the rest of config.json changed"
[[ "$(tr '\n' ' ' <"${tmp}/args")" == "--root /run/x --log /dev/null create --bundle ${tmp}/bundle --pid-file ${tmp}/pid ctr1 " ]] \
  || fail "create: runc got other arguments: $(tr '\n' ' ' <"${tmp}/args")"

jq -n --argjson c "${caps}" '{args: ["ls"], capabilities: {bounding: $c, effective: $c}}' >"${tmp}/process.json"
hack/runc-capfix exec --process="${tmp}/process.json" --detach ctr1
[[ "$(jq -c .capabilities.effective "${tmp}/process.json")" == "${want}" ]] || fail "exec: effective not stripped"
[[ "$(jq -c .args "${tmp}/process.json")" == '["ls"]' ]] || fail "exec: args changed"

cp "${tmp}/bundle/config.json" "${tmp}/before.json"
(cd "${tmp}/bundle" && "${OLDPWD}/hack/runc-capfix" state ctr1)
[[ "$(head -n 1 "${tmp}/args")" == state ]] || fail "state: not passed through"
cmp -s "${tmp}/bundle/config.json" "${tmp}/before.json" || fail "state: config.json was rewritten"
echo "runc-capfix test: ok"
