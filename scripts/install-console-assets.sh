#!/usr/bin/env bash
# The console's browser assets, from npm packages pinned by version and integrity (nothing from a CDN at run time):
#   htmx.org (Zero-Clause BSD) and htmx-ext-sse (Zero-Clause BSD)  -> served by the console itself
#   axe-core (MPL-2.0)                                             -> only the browser tests inject it
# Usage: install-console-assets.sh [--tests]. Tarballs are cached under $ANSWER_NINJA_CACHE/npm; a second run only
# checks them. Runtime files land in src/answer_ninja/services/console/static/vendor (or $CONSOLE_VENDOR_DIR, e.g.
# the image build); without them the console still serves every page, without live updates, and says so in /health.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${ANSWER_NINJA_CACHE:-$HOME/.cache/answer-ninja}/npm
vendor=${CONSOLE_VENDOR_DIR:-$here/../src/answer_ninja/services/console/static/vendor}
tests=false
[[ ${1:-} == --tests ]] && tests=true

# name version integrity(sha512, as npm prints it) file-in-package -> destination name
runtime_assets=(
  "htmx.org 2.0.11 sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA== dist/htmx.min.js htmx.min.js"
  "htmx-ext-sse 2.2.4 sha512-LJmxVhykyflBWgh5PvbRidcyuqMHlgfajmmzumvKctv9puvsufeH6OaejSMZTNTnEI8O2wXXn4ZZtBdpEMqmEQ== dist/sse.min.js htmx-ext-sse.min.js"
)
test_assets=(
  "axe-core 4.11.1 sha512-BASOg+YwO2C+346x3LZOeoovTIoTrRqEsqMa6fmfAV0P+U9mFr9NsyOEpiYvFjbc64NMrSswhV50WdXzdb/Z5A== axe.min.js axe.min.js"
)

sha512_base64() {  # openssl where there is one (Debian), else node (the image build's node stage)
  if command -v openssl >/dev/null; then
    openssl dgst -sha512 -binary "$1" | base64 -w0
  else
    node -e 'const c=require("crypto"),f=require("fs");process.stdout.write(c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$1"
  fi
}

fetch() {  # name version integrity -> path of the verified tarball
  local name=$1 version=$2 integrity=$3 tarball="$cache/$1-$2.tgz"
  mkdir -p "$cache"
  if [[ ! -s $tarball ]]; then
    command -v npm >/dev/null || { echo "npm is missing (scripts/system-packages.txt installs it)" >&2; return 1; }
    (cd "$cache" && npm pack --silent "$name@$version" >/dev/null)
  fi
  local actual
  actual="sha512-$(sha512_base64 "$tarball")"
  if [[ $actual != "$integrity" ]]; then
    rm -f "$tarball"
    echo "$name@$version: integrity mismatch (got $actual)" >&2
    return 1
  fi
  echo "$tarball"
}

install_into() {  # destination-dir entries...
  local destination=$1; shift
  mkdir -p "$destination"
  local entry name version integrity file target tarball
  for entry in "$@"; do
    read -r name version integrity file target <<<"$entry"
    tarball=$(fetch "$name" "$version" "$integrity")
    tar -xzf "$tarball" -O "package/$file" >"$destination/$target.tmp"
    mv "$destination/$target.tmp" "$destination/$target"
    tar -xzf "$tarball" -O package/LICENSE >"$destination/$target.LICENSE" 2>/dev/null || true
    echo "$name@$version -> $destination/$target"
  done
}

install_into "$vendor" "${runtime_assets[@]}"
if $tests; then
  install_into "${ANSWER_NINJA_CACHE:-$HOME/.cache/answer-ninja}/console-test-assets" "${test_assets[@]}"
fi
