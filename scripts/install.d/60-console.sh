#!/usr/bin/env bash
# Console: htmx + its SSE extension (served by the console) and axe-core (injected by the browser tests), from npm,
# pinned by version and sha512 (scripts/install-console-assets.sh); Chromium comes from Debian (system-packages.txt).
set -euo pipefail
: "${ANSWER_NINJA_CACHE:?}"
here=$(cd "$(dirname "$0")/.." && pwd)
bash "$here/install-console-assets.sh" --tests
command -v chromium >/dev/null || echo "warning: chromium missing (scripts/system-packages.txt installs it)" >&2
