"""Local speech-to-text: faster-whisper (CTranslate2, int8) on the Whisper base model packaged on PyPI.

Two ways to run a pass:

- ``full``: faster-whisper's own ``transcribe``, which pads every clip to Whisper's 30 s window. The encoder then
  costs the same (~0.9 s on two cores) for a 1 s "hello" as for a 30 s monologue.
- ``fit`` (default): the encoder sees only the utterance plus two seconds of trailing silence, rounded up to
  whole seconds. CTranslate2's Whisper encoder takes any window up to 30 s, and self-attention grows with the
  square of its length, so a pass over a 3 s utterance costs about a quarter of the full one. What a caller says
  in a turn is short, which is exactly where the fixed 30 s cost hurt. Measured by ``bench/stt_bench.py`` (same
  clips, both windows, same run): see docs/voice-loop.md.
"""

from __future__ import annotations

import asyncio
import math
import threading
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from answer_ninja.speech.base import SpeechProviderError, TailTranscript, TimedSegment
from answer_ninja.speech.chinese_script import to_simplified

WhisperWindow = Literal["fit", "full"]

_WHISPER_LANGUAGE = {"zh-CN": "zh", "en-US": "en"}
_SAMPLE_RATE = 16000
# Whisper base is trained on 30 s windows: the most the encoder takes (3,000 mel frames of 10 ms).
_MAX_SECONDS = 30
# Silence after the speech in a fitted window: Whisper expects speech to end well before its window does; with
# less than 2 s it tends to start the utterance over (measured by bench/stt_bench.py).
FIT_PAD_SECONDS = 2.0
# In a short window Whisper sometimes loops: it is told not to repeat any run of this many tokens...
NO_REPEAT_NGRAM = 5
# ...and a transcript that starts over (its first tokens again) is cut there: one turn says its opening once.
REPEATED_OPENING_TOKENS = 4


# Whisper's own limit for the previous-text prompt (half its 448-token context).
MAX_PROMPT_TOKENS = 223
# One timestamp token per 20 ms of audio.
_TIMESTAMP_SECONDS = 0.02


def split_timed_tokens(tokens: list[int], timestamp_begin: int) -> tuple[list[tuple[float, list[int]]], list[int]]:
    """Whisper's timestamped output -> (closed segments as (end seconds, text tokens), tokens after the last one).

    The decoder writes ``<|t0|> text <|t1|><|t1|> text <|t2|>``: a timestamp after text closes a segment.
    """
    closed: list[tuple[float, list[int]]] = []
    current: list[int] = []
    for token in tokens:
        if token >= timestamp_begin:
            if current:
                closed.append(((token - timestamp_begin) * _TIMESTAMP_SECONDS, current))
                current = []
        else:
            current.append(token)
    return closed, current


def max_tokens_for(seconds: float) -> int:
    """A bound on the tokens an utterance can need, so a hallucination loop cannot run for seconds."""
    return max(24, min(220, int(seconds * 14) + 12))


def cut_repeated_opening(tokens: list[int], n: int = REPEATED_OPENING_TOKENS) -> list[int]:
    """The tokens up to where the opening ``n`` tokens come round again (a decoding loop), or all of them."""
    opening = tokens[:n]
    if len(opening) < n:
        return tokens
    for start in range(1, len(tokens) - n + 1):
        if tokens[start : start + n] == opening:
            return tokens[:start]
    return tokens


def fitted_window_seconds(seconds: float) -> int:
    """The encoder window for an utterance: its length plus the trailing pad, in whole seconds, at most 30."""
    return max(1, min(_MAX_SECONDS, math.ceil(seconds + FIT_PAD_SECONDS)))


class WhisperSpeechToText:
    name = "whisper-base"
    supports_tail = True

    def __init__(
        self, model_dir: Path, *, cpu_threads: int = 1, workers: int = 2, window: WhisperWindow = "fit"
    ) -> None:
        try:
            from faster_whisper import WhisperModel
            from faster_whisper.tokenizer import Tokenizer
        except ImportError as error:
            raise SpeechProviderError(f"faster-whisper is not installed: {error}") from None
        # Workers are model replicas that decode at the same time. On two cores a second thread per pass saves ~10 %
        # (192 vs 213 ms for a 1.2 s clause), while two one-thread replicas run two passes in 266 ms each: the pass at
        # a caller's pause then starts at once instead of queueing behind the pass made while they spoke.
        self._model: Any = WhisperModel(
            str(model_dir), device="cpu", compute_type="int8", cpu_threads=cpu_threads, num_workers=workers
        )
        self.window: WhisperWindow = window
        # Whisper language code -> (tokenizer, decoder prompt): built once, not on every pass of every turn.
        self._prompts: dict[str, tuple[Any, list[int]]] = {}
        for code in set(_WHISPER_LANGUAGE.values()):
            tokenizer = Tokenizer(self._model.hf_tokenizer, True, task="transcribe", language=code)
            self._prompts[code] = (tokenizer, [*tokenizer.sot_sequence, tokenizer.no_timestamps])
        # CTranslate2 runs one request at a time per replica: a pass waits here rather than queueing in C++.
        self._replicas = threading.BoundedSemaphore(workers)

    def transcribe_sync(self, pcm: bytes, language: str) -> str:
        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        audio = audio[-_MAX_SECONDS * _SAMPLE_RATE :]
        whisper_language = _WHISPER_LANGUAGE.get(language, "en")
        with self._replicas:
            if self.window == "fit":
                text = self._transcribe_fitted(audio, whisper_language)
            else:
                text = self._transcribe_full(audio, whisper_language)
        return to_simplified(text) if language.startswith("zh") else text

    async def transcribe(self, pcm: bytes, language: str) -> str:
        return await asyncio.to_thread(self.transcribe_sync, pcm, language)

    def transcribe_tail_sync(
        self, pcm: bytes, language: str, *, prompt: str = "", timestamps: bool = False
    ) -> TailTranscript:
        """The tail of an utterance, told what was said before it (``prompt``): Whisper continues the text.

        With ``timestamps`` the decoder also marks where each segment ends, so a caller can commit the segments that
        consecutive passes agree on and cut their audio (the next pass then decodes only what follows).
        """
        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        audio = audio[-_MAX_SECONDS * _SAMPLE_RATE :]
        whisper_language = _WHISPER_LANGUAGE.get(language, "en")
        with self._replicas:
            transcript = self._decode_tail(audio, whisper_language, prompt, timestamps)
        if not language.startswith("zh"):
            return transcript
        return TailTranscript(
            to_simplified(transcript.text),
            tuple(TimedSegment(to_simplified(s.text), s.end_seconds) for s in transcript.segments),
        )

    async def transcribe_tail(
        self, pcm: bytes, language: str, *, prompt: str = "", timestamps: bool = False
    ) -> TailTranscript:
        return await asyncio.to_thread(self.transcribe_tail_sync, pcm, language, prompt=prompt, timestamps=timestamps)

    def _decode_tail(
        self, audio: npt.NDArray[np.float32], language: str, prompt: str, timestamps: bool
    ) -> TailTranscript:
        import ctranslate2

        seconds = audio.size / _SAMPLE_RATE
        window = fitted_window_seconds(seconds)
        padded = np.zeros(window * _SAMPLE_RATE, dtype=np.float32)
        padded[: audio.size] = audio[: padded.size]
        features = self._model.feature_extractor(padded)[:, : window * 100]
        tokenizer, _ = self._prompts[language]
        previous = tokenizer.encode(" " + prompt.strip())[-MAX_PROMPT_TOKENS:] if prompt.strip() else []
        decoder_prompt = [tokenizer.sot_prev, *previous] if previous else []
        decoder_prompt += [*tokenizer.sot_sequence] + ([] if timestamps else [tokenizer.no_timestamps])
        result = self._model.model.generate(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(features[np.newaxis])),
            [decoder_prompt],
            beam_size=1,
            max_length=len(decoder_prompt) + max_tokens_for(seconds) * (2 if timestamps else 1),
            suppress_blank=True,
            suppress_tokens=[-1],
            no_repeat_ngram_size=NO_REPEAT_NGRAM,
        )
        tokens = [token for token in result[0].sequences_ids[0] if token != tokenizer.eot]
        if not timestamps:
            text_tokens = cut_repeated_opening([token for token in tokens if token < tokenizer.eot])
            return TailTranscript(str(tokenizer.decode(text_tokens)).strip())
        closed, rest = split_timed_tokens(tokens, tokenizer.timestamp_begin)
        segments = tuple(TimedSegment(str(tokenizer.decode(text)).strip(), min(end, seconds)) for end, text in closed)
        joiner = "" if language == "zh" else " "
        text = joiner.join([*(segment.text for segment in segments), str(tokenizer.decode(rest)).strip()])
        return TailTranscript(text.strip(), segments)

    def _transcribe_full(self, audio: npt.NDArray[np.float32], language: str) -> str:
        segments, _ = self._model.transcribe(
            audio,
            language=language,
            beam_size=1,
            temperature=0.0,  # no temperature fallback: one decode per pass, predictable cost
            max_new_tokens=max_tokens_for(audio.size / _SAMPLE_RATE),
            # The VAD has already decided this is speech; Whisper's own no-speech guess drops robotic or
            # telephone-band voices entirely, and a prompt made Mandarin worse here (measured).
            no_speech_threshold=None,
            without_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
        )
        return "".join(segment.text for segment in segments).strip()

    def _transcribe_fitted(self, audio: npt.NDArray[np.float32], language: str) -> str:
        import ctranslate2  # installed with faster-whisper; already loaded by it

        seconds = audio.size / _SAMPLE_RATE
        window = fitted_window_seconds(seconds)
        # Pad the waveform, not the features: the log-mel normalisation then sees the silence as Whisper's own
        # 30 s padding would show it.
        padded = np.zeros(window * _SAMPLE_RATE, dtype=np.float32)
        padded[: audio.size] = audio[: padded.size]
        features = self._model.feature_extractor(padded)[:, : window * 100]
        tokenizer, prompt = self._prompts[language]
        result = self._model.model.generate(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(features[np.newaxis])),
            [prompt],
            beam_size=1,
            max_length=len(prompt) + max_tokens_for(seconds),
            suppress_blank=True,
            suppress_tokens=[-1],  # the model's own list of non-speech tokens
            no_repeat_ngram_size=NO_REPEAT_NGRAM,
        )
        tokens = [token for token in result[0].sequences_ids[0] if token < tokenizer.eot]
        return str(tokenizer.decode(cut_repeated_opening(tokens))).strip()
