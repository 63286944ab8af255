# shellcheck shell=bash
# Source me: picks the newest Temurin JDK (21 or newer) under /usr/lib/jvm unless JAVA_HOME already
# points at one, and puts it first on PATH. The build targets release 21.
if [[ -z "${JAVA_HOME:-}" || ! -x "${JAVA_HOME}/bin/javac" ]] \
   || ! "${JAVA_HOME}/bin/java" -version 2>&1 | grep -qE 'version "(2[1-9]|[3-9][0-9])'; then
  JAVA_HOME="$(ls -d /usr/lib/jvm/temurin-*-jdk* 2>/dev/null | sort -t- -k2,2n | tail -n 1)"
fi
[[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/javac" ]] \
  || { echo "No JDK 21+ found: install a Temurin JDK (21 or newer) under /usr/lib/jvm or set JAVA_HOME" >&2; return 1 2>/dev/null || exit 1; }
export JAVA_HOME
export PATH="${JAVA_HOME}/bin:${PATH}"
export KUBE_VERSION="${KUBE_VERSION:-1.37.2}"
