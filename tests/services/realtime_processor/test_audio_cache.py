"""Prepared reply audio: synthesised once, shared by concurrent asks, kept on disk across restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from answer_ninja.services.realtime_processor.audio_cache import PreparedAudio
from answer_ninja.speech.standins import FixedDelayTextToSpeech


async def test_concurrent_asks_synthesise_once() -> None:
    tts = FixedDelayTextToSpeech(delay_seconds=0.01)
    prepared = PreparedAudio(tts)
    line = "不需要，谢谢"
    first, second = await asyncio.gather(prepared.ensure(line, "zh-CN"), prepared.ensure(line, "zh-CN"))
    assert first == second
    assert tts.calls == 1
    assert prepared.get(line, "zh-CN") == first
    assert prepared.get(line, "en-US") is None  # per language


async def test_disk_cache_survives_a_restart(tmp_path: Path) -> None:
    tts = FixedDelayTextToSpeech()
    ready = await PreparedAudio(tts, directory=tmp_path).prepare(["No thanks.", "Goodbye."], "en-US")
    assert ready == 2
    assert tts.calls == 2
    restarted_tts = FixedDelayTextToSpeech()
    restarted = PreparedAudio(restarted_tts, directory=tmp_path)
    assert await restarted.prepare(["No thanks.", "Goodbye."], "en-US") == 2
    assert restarted_tts.calls == 0  # read back, not synthesised again
    assert restarted.get("No thanks.", "en-US") is not None


async def test_memory_is_bounded() -> None:
    prepared = PreparedAudio(FixedDelayTextToSpeech(), max_entries=3)
    await prepared.prepare([f"line {n}" for n in range(5)], "en-US")
    assert len(prepared) == 3
    assert prepared.get("line 0", "en-US") is None
    assert prepared.get("line 4", "en-US") is not None
