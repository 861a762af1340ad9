"""The caller simulator: plays a scripted caller over Twilio Media Streams, at real-time pace, as Twilio would.

It is the carrier and the caller at once: it sends 20 ms mu-law frames continuously (speech from the script,
silence between lines), plays the AI's audio out at real time, echoes ``mark``s when their audio has played,
honours ``clear``, and measures voice-to-voice from its side of the line (last voiced frame sent -> first reply
frame received).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import websockets
import yaml

from answer_ninja.speech.base import TextToSpeech, synthesize_all
from answer_ninja.telephony import twilio_media
from answer_ninja.telephony.codec import (
    MULAW_FRAME_BYTES,
    frames,
    pcm16k_to_mulaw8k,
)

FRAME_SECONDS = 0.02
SILENCE_MULAW = b"\xff" * MULAW_FRAME_BYTES
# Pause the caller leaves after the AI stops talking before the next line (a real line's turn gap).
TURN_GAP_SECONDS = 0.6
# A caller whose script has ended waits this long for the AI to hang up, then hangs up itself.
WAIT_FOR_HANGUP_SECONDS = 6.0
# A persistent caller gives up after this long (the AI should have hung up well before).
PERSISTENT_MAX_SECONDS = 150.0


class ScriptError(ValueError):
    pass


@dataclass(frozen=True)
class ScriptLine:
    text: str
    barge_in_after: float | None = None  # start talking this long after the AI's reply starts


@dataclass(frozen=True)
class CallerScript:
    name: str
    language: str
    description: str
    caller: str
    lines: tuple[ScriptLine, ...]
    persistent: bool = False


def script_names() -> list[str]:
    folder = resources.files("answer_ninja.speech") / "scripts"
    return sorted(item.name.removesuffix(".yaml") for item in folder.iterdir() if item.name.endswith(".yaml"))


def load_script(name: str) -> CallerScript:
    path = resources.files("answer_ninja.speech") / "scripts" / f"{name}.yaml"
    if not path.is_file():
        raise ScriptError(f"no caller script {name!r}; choose from {', '.join(script_names())}")
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        lines = tuple(
            ScriptLine(text=str(item["text"]), barge_in_after=item.get("barge_in_after")) for item in data["lines"]
        )
        return CallerScript(
            name=str(data["name"]),
            language=str(data["language"]),
            description=str(data.get("description", "")),
            caller=str(data.get("caller", "+10000000001")),
            lines=lines,
            persistent=bool(data.get("persistent", False)),
        )
    except (KeyError, TypeError) as error:
        raise ScriptError(f"caller script {name}: missing or bad field {error}") from None


def over_the_greeting(script: CallerScript, after_seconds: float = 0.8) -> CallerScript:
    """The same caller, starting the first line this long into the AI's greeting (spam callers do not wait)."""
    first, *rest = script.lines
    lines = (ScriptLine(first.text, barge_in_after=after_seconds), *rest)
    return CallerScript(script.name, script.language, script.description, script.caller, lines, script.persistent)


def trim_silence(pcm: bytes, threshold: int = 300) -> bytes:
    """Cut the TTS engine's leading and trailing silence: the caller's last voiced frame is then the last frame."""
    samples = np.frombuffer(pcm, dtype="<i2")
    loud = np.nonzero(np.abs(samples.astype(np.int32)) > threshold)[0]
    if loud.size == 0:
        return pcm
    return samples[loud[0] : loud[-1] + 1].tobytes()


async def synthesize_script(script: CallerScript, tts: TextToSpeech) -> dict[str, bytes]:
    """Each line's audio as mu-law 8 kHz (what Twilio would carry)."""
    audio: dict[str, bytes] = {}
    for line in script.lines:
        if line.text not in audio:
            pcm = trim_silence(await synthesize_all(tts, line.text, script.language))
            audio[line.text] = pcm16k_to_mulaw8k(pcm)
    return audio


@dataclass
class CallerTurn:
    text: str
    voice_to_voice_ms: float | None = None  # None: no reply audio came (a backchannel, or the call ended)
    barged_in: bool = False
    # The AI started talking while this line was still being said (the caller had only paused).
    talked_over: bool = False


@dataclass
class SimulatedCall:
    call_id: str
    script: str
    turns: list[CallerTurn] = field(default_factory=list)
    ended_by: str = ""  # ai | caller
    ai_audio_seconds: float = 0.0
    clears: int = 0
    duration_seconds: float = 0.0


class _Line:
    """What is on the wire: the AI's audio queued for playback, and the caller's voice."""

    def __init__(self) -> None:
        self.playback: deque[bytes | str] = deque()  # mu-law frames and mark names
        self.speaking: deque[bytes] = deque()
        self.last_ai_audio = 0.0
        self.first_ai_audio_after: float | None = None  # first reply frame after the caller's last voiced frame
        self.voice_sent_at = 0.0


class SimulatedCaller:
    def __init__(
        self,
        script: CallerScript,
        audio: dict[str, bytes],
        *,
        ws_url: str,
        parameters: dict[str, str],
        call_sid: str | None = None,
    ) -> None:
        self.script = script
        self.audio = audio
        self.ws_url = ws_url
        self.parameters = parameters
        self.call_sid = call_sid or "CA" + uuid.uuid4().hex
        self.stream_sid = "MZ" + uuid.uuid4().hex
        self.result = SimulatedCall(call_id=parameters.get("call_id", ""), script=script.name)
        self._line = _Line()
        self._closed = asyncio.Event()

    async def run(self) -> SimulatedCall:
        started = time.perf_counter()
        async with websockets.connect(self.ws_url, max_size=None) as ws:
            await ws.send(twilio_media.connected_message())
            await ws.send(twilio_media.start_message(self.stream_sid, self.call_sid, self.parameters))
            tasks = [
                asyncio.create_task(self._receive(ws), name="receive"),
                asyncio.create_task(self._clock(ws), name="clock"),
                asyncio.create_task(self._talk(), name="talk"),
            ]
            try:
                await self._closed.wait()
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                if not self.result.ended_by:
                    self.result.ended_by = "caller"
                    with contextlib.suppress(Exception):
                        await ws.send(twilio_media.stop_message(self.stream_sid, self.call_sid))
        self.result.duration_seconds = time.perf_counter() - started
        return self.result

    async def _receive(self, ws: Any) -> None:
        line = self._line
        try:
            async for raw in ws:
                message = twilio_media.parse(raw)
                if isinstance(message, twilio_media.Media):
                    if line.first_ai_audio_after is None and line.voice_sent_at and not line.speaking:
                        line.first_ai_audio_after = time.perf_counter()
                    if line.speaking and not self._ai_talking() and self.result.turns:
                        self.result.turns[-1].talked_over = True  # a reply began while the caller only paused
                    # Played 20 ms at a time, whatever size the server's messages are.
                    line.playback.extend(frames(message.media.audio(), MULAW_FRAME_BYTES, pad=b"\xff"))
                elif isinstance(message, twilio_media.Mark):
                    line.playback.append(message.mark.name)
                elif isinstance(message, twilio_media.Clear):
                    self.result.clears += 1
                    marks = [item for item in line.playback if isinstance(item, str)]
                    line.playback.clear()
                    for name in marks:  # Twilio returns the marks of cleared audio
                        await ws.send(twilio_media.mark_message(self.stream_sid, name))
        except websockets.ConnectionClosed:
            pass
        self.result.ended_by = self.result.ended_by or "ai"
        self._closed.set()

    async def _clock(self, ws: Any) -> None:
        """Every 20 ms: send one caller frame (voice or silence) and play one AI frame (echoing its marks)."""
        line = self._line
        chunk = 0
        next_tick = time.perf_counter()
        while True:
            frame = line.speaking.popleft() if line.speaking else SILENCE_MULAW
            if not line.speaking and frame is not SILENCE_MULAW:
                line.voice_sent_at = time.perf_counter()
                line.first_ai_audio_after = None
            await ws.send(twilio_media.inbound_media_message(self.stream_sid, frame, chunk))
            chunk += 1
            while line.playback and isinstance(line.playback[0], str):
                await ws.send(twilio_media.mark_message(self.stream_sid, str(line.playback.popleft())))
            if line.playback:
                line.playback.popleft()
                line.last_ai_audio = time.perf_counter()
                self.result.ai_audio_seconds += FRAME_SECONDS
            next_tick += FRAME_SECONDS
            await asyncio.sleep(max(0.0, next_tick - time.perf_counter()))

    def _ai_talking(self) -> bool:
        return any(isinstance(item, bytes) for item in self._line.playback)

    async def _wait_until(self, condition: Any, timeout: float) -> bool:
        deadline = time.perf_counter() + timeout
        while not condition():
            if time.perf_counter() > deadline or self._closed.is_set():
                return False
            await asyncio.sleep(FRAME_SECONDS)
        return True

    async def _talk(self) -> None:
        line = self._line
        began = time.perf_counter()
        # The AI answers the phone first: let it finish its greeting (unless the first line talks over it).
        await self._wait_until(self._ai_talking, 5.0)
        if not self.script.lines or self.script.lines[0].barge_in_after is None:
            await self._wait_until(lambda: not self._ai_talking(), 15.0)
        while True:
            for script_line in self.script.lines:
                if script_line.barge_in_after is not None:
                    if not self._ai_talking():
                        await self._wait_until(self._ai_talking, 10.0)
                    await asyncio.sleep(script_line.barge_in_after)
                else:
                    await self._wait_until(lambda: not self._ai_talking(), 30.0)
                    await asyncio.sleep(TURN_GAP_SECONDS)
                if self._closed.is_set():
                    return
                turn = CallerTurn(script_line.text, barged_in=self._ai_talking())
                self.result.turns.append(turn)
                line.speaking.extend(frames(self.audio[script_line.text], MULAW_FRAME_BYTES, pad=b"\xff"))
                await self._wait_until(lambda: not line.speaking, 60.0)
                # Voice-to-voice from this side: wait for the first reply frame (not for a backchannel).
                await self._wait_until(lambda: line.first_ai_audio_after is not None, 8.0)
                if line.first_ai_audio_after is not None and line.voice_sent_at:
                    turn.voice_to_voice_ms = (line.first_ai_audio_after - line.voice_sent_at) * 1000
            if not self.script.persistent or time.perf_counter() - began > PERSISTENT_MAX_SECONDS:
                break
        await self._wait_until(lambda: not self._ai_talking(), 30.0)
        await self._wait_until(lambda: self._closed.is_set(), WAIT_FOR_HANGUP_SECONDS)
        self._closed.set()
