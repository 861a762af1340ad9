#!/usr/bin/env bash
# System packages the test suite needs (Debian bookworm, run as root). Idempotent: skips apt when all present.
# The list lives in scripts/system-packages.txt: "<command or file that must exist> <debian package>".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

present() {
  local what=$1
  if [[ $what == /* ]]; then [[ -e $what ]]; return; fi
  command -v "$what" >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/$what" >/dev/null
}

missing=()
while read -r what pkg _; do
  [[ -z ${what:-} || $what == \#* ]] && continue
  present "$what" || missing+=("$pkg")
done <"$here/system-packages.txt"

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing system packages: ${missing[*]} (run as root, or install them)" >&2
    exit 1
  fi
  echo "installing system packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
