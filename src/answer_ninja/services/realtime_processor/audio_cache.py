"""Reply audio synthesised ahead of time: template replies and our own lines need no TTS during a call."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections import OrderedDict
from pathlib import Path

from answer_ninja.platform.logging import get_logger
from answer_ninja.speech.base import TextToSpeech, synthesize_all

log = get_logger(__name__)

# Generated replies (LLM) are cached too, bounded: the same spam pitch tends to get the same answer.
MAX_ENTRIES = 2000


def _key(text: str, language: str) -> tuple[str, str]:
    return (language, " ".join(text.split()))


class PreparedAudio:
    """In memory, and on disk when ``directory`` is set: a restarted service has its template audio at once."""

    def __init__(self, tts: TextToSpeech, *, directory: Path | None = None, max_entries: int = MAX_ENTRIES) -> None:
        self.tts = tts
        self.directory = directory
        self.max_entries = max_entries
        self._audio: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._pending: dict[tuple[str, str], asyncio.Task[bytes]] = {}

    def get(self, text: str, language: str) -> bytes | None:
        key = _key(text, language)
        audio = self._audio.get(key)
        if audio is not None:
            self._audio.move_to_end(key)
        return audio

    def put(self, text: str, language: str, audio: bytes) -> None:
        self._audio[_key(text, language)] = audio
        while len(self._audio) > self.max_entries:
            self._audio.popitem(last=False)

    def __len__(self) -> int:
        return len(self._audio)

    def ensure(self, text: str, language: str) -> asyncio.Task[bytes]:
        """Synthesise in the background unless cached or already under way; the task yields the audio."""
        key = _key(text, language)
        pending = self._pending.get(key)
        if pending is not None:
            return pending
        cached = self.get(text, language)

        async def run() -> bytes:
            if cached is not None:
                return cached
            try:
                audio = self._read(key)
                if audio is None:
                    audio = await synthesize_all(self.tts, text, language)
                    self._write(key, audio)
                self.put(text, language, audio)
                return audio
            finally:
                self._pending.pop(key, None)

        task = asyncio.create_task(run(), name=f"tts:{text[:20]}")
        if cached is None:
            self._pending[key] = task
        return task

    def _file(self, key: tuple[str, str]) -> Path | None:
        if self.directory is None:
            return None
        digest = hashlib.sha256(f"{self.tts.name}|{key[0]}|{key[1]}".encode()).hexdigest()[:32]
        return self.directory / f"{digest}.pcm"

    def _read(self, key: tuple[str, str]) -> bytes | None:
        path = self._file(key)
        try:
            return path.read_bytes() if path is not None and path.is_file() else None
        except OSError:
            return None

    def _write(self, key: tuple[str, str], audio: bytes) -> None:
        path = self._file(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_bytes(audio)
            temporary.replace(path)  # atomic: a reader never sees half a clip
        except OSError as error:  # a read-only or full disk costs speed, not the call
            log.warning("audio_cache_write_failed", error=str(error)[:200])

    async def prepare(self, texts: list[str], language: str) -> int:
        """Synthesise every line (one at a time: the CPU is shared with live calls). Returns how many are ready."""
        ready = 0
        for text in texts:
            try:
                await self.ensure(text, language)
                ready += 1
            except Exception as error:  # one bad line must not stop the others
                log.warning("presynthesis_failed", language=language, text=text[:40], error=str(error)[:200])
        return ready
