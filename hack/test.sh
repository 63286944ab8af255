#!/usr/bin/env bash
# The test command of the README: unit tests (*Test) and tests against a real kube-apiserver (*IT).
# Run hack/bootstrap.sh first (make test does). Arguments go to Maven (e.g. -pl api).
# With CI set (.ci/run sets it), a skipped or aborted test fails the run: Maven counts a skip as a pass, and a
# test that skips when a prerequisite is missing would let CI report success without having run it.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib.sh
source hack/env.sh
stamp="$(mktemp)"
trap 'rm -f "${stamp}"' EXIT
./mvnw -B verify "$@"
if [[ -n "${CI:-}" ]]; then
  # Only this run's reports (newer than the stamp): stale ones from an earlier run must not count. A skipped
  # test shows as <skipped>; a class whose @BeforeAll assumption failed shows as tests="0" and nothing else.
  mapfile -t reports < <(find . -path '*/node_modules' -prune -o -path '*/target/*-reports/TEST-*.xml' -newer "${stamp}" -print)
  bad=()
  for r in "${reports[@]}"; do
    if grep -q '<skipped' "${r}"; then
      grep -h -B1 '<skipped' "${r}" >&2
      bad+=("${r}")
    elif grep -qE '<testsuite [^>]*tests="0"' "${r}"; then
      echo "${r}: no test ran (a class-level assumption, or a class without tests)" >&2
      bad+=("${r}")
    fi
  done
  (( ${#bad[@]} == 0 )) || die "CI: ${#bad[@]} test classes skipped tests (a skip is a failure in CI; see above): ${bad[*]}"
  log "CI: ${#reports[@]} test reports, none with a skipped test"
fi
