#!/usr/bin/env bash
# Heavier test prerequisites, one script per area in scripts/install.d/ (run in name order):
# builds that take minutes (llama-cpp-python, kube-apiserver) are cached under ~/.cache/answer-ninja so a second
# run is fast, but each script rebuilds from nothing when the cache is absent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export ANSWER_NINJA_CACHE=${ANSWER_NINJA_CACHE:-$HOME/.cache/answer-ninja}
export VENV_BIN=${VENV_BIN:-$here/../.venv/bin}
mkdir -p "$ANSWER_NINJA_CACHE"
for script in "$here"/install.d/*.sh; do
  [[ -e $script ]] || continue
  echo "== $(basename "$script")"
  bash "$script"
done
