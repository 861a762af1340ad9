"""Speech-to-text pass cost and quality: Whisper's encoder on a fitted window vs its full 30 s window.

    .venv/bin/python bench/stt_bench.py [--rounds 1]

Every distinct line of the caller scripts is synthesised (Piper for English, espeak-ng for Mandarin), sent through
the telephone band (mu-law 8 kHz, back to 16 kHz, as the voice loop hears it) and transcribed with both windows,
interleaved clip by clip so that load on the shared machine falls on both alike. Prints per window: pass time
p50/p95, word (English) or character (Mandarin) error rate against the script, and how often the transcript's
intent agrees with the script line's intent (what the reply depends on); then the per-clip time ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from answer_ninja.calls.intents import classify
from answer_ninja.calls.vocabulary import Language
from answer_ninja.services.conversation_engine.understanding import packaged_ngram
from answer_ninja.speech.local_tts import EspeakTextToSpeech, LanguageRoutedTextToSpeech, PiperTextToSpeech
from answer_ninja.speech.models import default_model_root, prepare_whisper_base
from answer_ninja.speech.simulator import load_script, script_names, synthesize_script
from answer_ninja.speech.whisper_stt import WhisperSpeechToText, WhisperWindow
from answer_ninja.telephony.codec import mulaw_decode, resample

WINDOWS: tuple[WhisperWindow, ...] = ("fit", "full")


def units(text: str, language: str) -> list[str]:
    """Words (English) or characters (Mandarin), without punctuation or case."""
    if language.startswith("zh"):
        return [char for char in text if char.isalnum()]
    return re.findall(r"[a-z0-9']+", text.lower())


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def clips() -> list[tuple[str, str, bytes]]:
    """(language, script text, PCM16 16 kHz after the telephone band) for every distinct caller line."""
    tts = LanguageRoutedTextToSpeech([PiperTextToSpeech(), EspeakTextToSpeech()])
    found: dict[tuple[str, str], bytes] = {}
    for name in script_names():
        script = load_script(name)
        for text, mulaw in asyncio.run(synthesize_script(script, tts)).items():
            found[(script.language, text)] = resample(mulaw_decode(mulaw), 8000, 16000)
    return [(language, text, pcm) for (language, text), pcm in found.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1, help="passes per clip and window (times: all of them)")
    args = parser.parse_args()
    print(f"stt benchmark on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    samples = clips()
    seconds = [len(pcm) / 32000 for _, _, pcm in samples]
    print(f"{len(samples)} clips, {statistics.median(seconds):.1f} s median, {max(seconds):.1f} s longest")
    root = Path(os.environ.get("SPEECH_MODEL_DIR") or default_model_root(Path("var")))
    whisper = WhisperSpeechToText(prepare_whisper_base(root))
    ngram = packaged_ngram()
    whisper.transcribe_sync(samples[0][2], samples[0][0])  # warm-up: first pass allocates

    times: dict[str, list[float]] = {window: [] for window in WINDOWS}
    errors = {window: {"zh": [0, 0], "en": [0, 0]} for window in WINDOWS}
    agree = {window: 0 for window in WINDOWS}
    ratios: list[float] = []
    for language, text, pcm in samples:
        per_clip: dict[str, float] = {}
        for window in WINDOWS:
            whisper.window = window
            for _ in range(args.rounds):
                started = time.perf_counter()
                heard = whisper.transcribe_sync(pcm, language)
                elapsed = (time.perf_counter() - started) * 1000
                times[window].append(elapsed)
            per_clip[window] = elapsed
            reference, hypothesis = units(text, language), units(heard, language)
            counts = errors[window][language[:2]]
            counts[0] += edit_distance(reference, hypothesis)
            counts[1] += len(reference)
            spoken = Language(language)
            agree[window] += classify(heard, spoken, ngram=ngram).intent == classify(text, spoken, ngram=ngram).intent
        ratios.append(per_clip["full"] / per_clip["fit"])

    print(f"{'window':<8}{'pass p50':>10}{'pass p95':>10}{'CER zh':>9}{'WER en':>9}{'intent agrees':>15}")
    for window in WINDOWS:
        zh, en = errors[window]["zh"], errors[window]["en"]
        p95 = statistics.quantiles(times[window], n=20)[-1]
        print(
            f"{window:<8}{statistics.median(times[window]):>8.0f}ms{p95:>8.0f}ms"
            f"{zh[0] / max(1, zh[1]):>9.1%}{en[0] / max(1, en[1]):>9.1%}"
            f"{agree[window]:>8}/{len(samples)} ({agree[window] / len(samples):.0%})"
        )
    p5 = statistics.quantiles(ratios, n=20)[0]
    print(f"full / fit time per clip: median {statistics.median(ratios):.2f}x (p5 {p5:.2f}x)")
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
