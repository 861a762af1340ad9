"""Local speech-to-text: faster-whisper (CTranslate2, int8) on the Whisper base model packaged on PyPI."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import numpy as np

from answer_ninja.speech.base import SpeechProviderError
from answer_ninja.speech.chinese_script import to_simplified

_WHISPER_LANGUAGE = {"zh-CN": "zh", "en-US": "en"}
# Whisper base is trained on 30 s windows; anything shorter is padded, so a pass costs about the same at any length.
_MAX_SECONDS = 30


def max_tokens_for(seconds: float) -> int:
    """A bound on the tokens an utterance can need, so a hallucination loop cannot run for seconds."""
    return max(24, min(220, int(seconds * 14) + 12))


class WhisperSpeechToText:
    name = "whisper-base"

    def __init__(self, model_dir: Path, *, cpu_threads: int = 2) -> None:
        try:
            from faster_whisper import WhisperModel
        except ImportError as error:
            raise SpeechProviderError(f"faster-whisper is not installed: {error}") from None
        self._model: Any = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=cpu_threads)
        # CTranslate2 runs one request at a time per model replica: a lock keeps passes from queueing in C++.
        self._lock = threading.Lock()

    def transcribe_sync(self, pcm: bytes, language: str) -> str:
        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        audio = audio[-_MAX_SECONDS * 16000 :]
        with self._lock:
            segments, _ = self._model.transcribe(
                audio,
                language=_WHISPER_LANGUAGE.get(language, "en"),
                beam_size=1,
                temperature=0.0,  # no temperature fallback: one decode per pass, predictable cost
                max_new_tokens=max_tokens_for(audio.size / 16000),
                # The VAD has already decided this is speech; Whisper's own no-speech guess drops robotic or
                # telephone-band voices entirely, and a prompt made Mandarin worse here (measured).
                no_speech_threshold=None,
                without_timestamps=True,
                condition_on_previous_text=False,
                vad_filter=False,
            )
            text = "".join(segment.text for segment in segments).strip()
        return to_simplified(text) if language.startswith("zh") else text

    async def transcribe(self, pcm: bytes, language: str) -> str:
        return await asyncio.to_thread(self.transcribe_sync, pcm, language)
