#!/usr/bin/env bash
# System packages (Debian bookworm, run as root). Idempotent: skips apt when all present.
# Usage: install-system-deps.sh [--optional] [LIST]; LIST defaults to scripts/system-packages.txt (what the test
# suite needs), lines "<command or file that must exist> <debian package>". --optional warns instead of failing
# when packages are missing and cannot be installed (`make up`: the services then run degraded).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
optional=false
if [[ ${1:-} == --optional ]]; then optional=true; shift; fi
list=${1:-$here/system-packages.txt}

present() {
  local what=$1
  if [[ $what == /* ]]; then [[ -e $what ]]; return; fi
  command -v "$what" >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/$what" >/dev/null
}

missing=()
while read -r what pkg _; do
  [[ -z ${what:-} || $what == \#* ]] && continue
  present "$what" || missing+=("$pkg")
done <"$list"

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing system packages: ${missing[*]} (run as root, or install them)" >&2
    $optional && exit 0
    exit 1
  fi
  echo "installing system packages: ${missing[*]}"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null; }; then
    echo "could not install: ${missing[*]}" >&2
    $optional && exit 0
    exit 1
  fi
fi
