"""One call's voice loop: VAD and end of turn -> speech-to-text -> reply -> audio back, with barge-in.

How it beats a transcribe-after-the-turn pipeline: while the caller speaks, the growing utterance is transcribed
again and again in the background; each new partial transcript is sent to conversation-engine as a ``dry_run``
and its reply's audio is synthesised (or found among the prepared template audio). When the turn ends, the reply
prepared for the latest transcript goes out at once, and the real (state-changing) manage call with the same text
runs beside it. A final pass over the whole utterance, started at the first pause, replaces the partial when it
is done in time, and always provides the transcript the call record keeps.

Streaming (when the recogniser can continue a transcript, as the local Whisper can): passes read only the
utterance's undecided tail, the settled head being committed at pauses and by agreement of consecutive passes
(``streaming.py``), so the pass at the end of a 15 s pitch costs what it costs after a 3 s one. The turn ends when
the transcript of everything said so far sounds finished (``turn_taking.py``), not after a fixed silence.

Time has two clocks: audio time (20 ms per inbound frame: endpointing, silence and call-length rules, so they
are deterministic under test) and the wall clock (stage timings, voice-to-voice latency).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from answer_ninja.platform.logging import get_logger
from answer_ninja.services.realtime_processor import lines, metrics
from answer_ninja.services.realtime_processor.audio_cache import PreparedAudio
from answer_ninja.services.realtime_processor.endpointing import FRAME_MS, Event, TurnDetector
from answer_ninja.services.realtime_processor.events import NO_EVENTS, CallEventSink
from answer_ninja.services.realtime_processor.replies import CallContext, Reply, ReplyClient
from answer_ninja.services.realtime_processor.streaming import StreamingTranscript
from answer_ninja.services.realtime_processor.turn_taking import TurnPolicy
from answer_ninja.speech.base import (
    SpeechToText,
    TailSpeechToText,
    TailTranscript,
    TextToSpeech,
    VoiceActivityDetector,
)
from answer_ninja.telephony.codec import PCM_FRAME_BYTES, duration_ms

log = get_logger(__name__)

# Audio kept from before speech started (VAD needs a few frames to decide; Whisper needs the onset).
PREROLL_FRAMES = 10
# Re-transcribe the growing utterance once this much new speech has arrived since the last pass started.
PARTIAL_EVERY_MS = 300
# Shortest audio worth a partial pass (Whisper hallucinates on fragments).
MIN_PARTIAL_MS = 400
# Carriers echo marks as audio plays; if one never does, the audio is taken as played this long after its end.
MARK_GRACE_MS = 2000
_BYTES_PER_MS = 32  # PCM16 at 16 kHz
FIRST_SEND_BYTES = 100 * _BYTES_PER_MS
# At the end of a turn the final pass (the whole utterance) is waited for this long before a partial transcript
# answers instead. A pass takes ~200 ms on two cores with the fitted Whisper window, and a reply to half a sentence
# is more often wrong (a "您好, 我们..." heard as a polite caller to take a message from).
FINAL_PASS_WAIT_SECONDS = 0.25
# Share of the utterance a partial transcript must have heard to answer when the final pass is late.
SPECULATIVE_MIN_COVERAGE = 0.5
# A caller who goes on after this much silence paused between clauses: the pass that heard everything before the
# pause is committed.
COMMIT_PAUSE_MS = 100
# The pass that decides the end of the turn starts after this much silence (streaming; the loop before it: 100 ms).
# Earlier is sooner for every turn; a stop inside a word costs a pass that nothing waits for.
PAUSE_PASS_MS = 60
# Passes of one call running at once (the recogniser has two workers by default).
MAX_PASSES_AT_ONCE = 2
# A tail shorter than this is not sent to Whisper (on a sliver of audio it invents words: "谢谢观看").
MIN_TAIL_MS = 120
# A caller who speaks again this soon after the last word of a turn the loop ended was not done: they only paused.
CONTINUATION_GAP_MS = 1000
# The end-of-turn rule of the loop before streaming: a fixed silence (kept for comparison: TURN_POLICY=fixed).
FIXED_TURN_POLICY = TurnPolicy(fixed_ms=300)


class AudioOutput(Protocol):
    """What the loop needs from a carrier connection (three verbs and a hang-up)."""

    supports_marks: bool

    async def send_audio(self, pcm16k: bytes) -> None: ...

    async def send_mark(self, name: str) -> None: ...

    async def clear(self) -> None: ...

    async def hangup(self) -> None: ...


@dataclass
class SessionConfig:
    barge_in_min_speech_ms: int = 400
    silence_prompt_ms: int = 8000
    silence_goodbye_ms: int = 8000
    max_call_ms: int = 180_000
    greet: bool = True
    # How much silence ends a turn, from the transcript so far (TurnPolicy(fixed_ms=300) = the old fixed rule).
    turn_policy: TurnPolicy = field(default_factory=TurnPolicy)
    # Passes read only the uncommitted tail of the utterance (needs a recogniser that supports it).
    streaming: bool = True
    final_pass_wait_seconds: float = FINAL_PASS_WAIT_SECONDS


@dataclass
class Turn:
    """One exchange: what the caller said and what the AI answered, with every stage timed (ms)."""

    index: int
    caller_text: str = ""
    ai_text: str = ""
    heard_text: str = ""
    intent: str | None = None
    stage: str | None = None
    interrupted: bool = False
    kind: str = "reply"  # reply | greeting | prompt | goodbye | unheard
    speculative: bool = False  # answered from a transcript prepared while the caller was still speaking
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def spoken_text(self) -> str:
        """What the caller heard of the AI's line (all of it unless cut short by a barge-in)."""
        return self.heard_text if self.interrupted else self.ai_text


@dataclass
class _Partial:
    generation: int  # which utterance it belongs to
    text: str  # the whole utterance's text as far as the pass heard (committed head + its tail)
    covered_bytes: int  # how much of the utterance the pass heard
    final: bool  # the pass started in a pause (after the caller's last voiced frame so far)
    pass_ms: float
    tail_start: int = 0  # where the audio the pass read began (streaming: the tail; else 0)
    tail_text: str = ""
    silence_ms: int = 0  # silence when the pass started


@dataclass(frozen=True)
class _Utterance:
    """A finished utterance: its audio, which one it was, and where its last voiced frame ended (bytes)."""

    audio: bytes
    generation: int
    voiced_end: int


@dataclass
class _Prepared:
    text: str
    reply: asyncio.Task[Reply]
    audio: asyncio.Task[bytes] | None = None


@dataclass
class _Playback:
    """The AI's audio in flight: segments sent, whose marks come back as they are played."""

    turn: Turn
    segments: dict[str, str] = field(default_factory=dict)  # mark name -> text of the segment
    heard: list[str] = field(default_factory=list)
    started_ms: float = 0.0
    ends_at_ms: float = 0.0  # audio time when it will have played out (for carriers without marks)


def _running(task: asyncio.Task[None] | None) -> bool:
    return task is not None and not task.done()


def _complete(partial: _Partial | None, generation: int, voiced_end: int) -> bool:
    """The pass heard the whole utterance: it started after the caller's last voiced frame (``voiced_end`` bytes)."""
    return (
        partial is not None
        and partial.generation == generation
        and partial.final
        and partial.covered_bytes >= voiced_end
    )


class CallSession:
    def __init__(
        self,
        call: CallContext,
        *,
        output: AudioOutput,
        vad: VoiceActivityDetector,
        stt: SpeechToText,
        tts: TextToSpeech,
        replies: ReplyClient,
        prepared: PreparedAudio,
        config: SessionConfig | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.call = call
        self.output = output
        self.vad = vad
        self.stt = stt
        self.tts = tts
        self.replies = replies
        self.prepared = prepared
        self.config = config or SessionConfig()
        self.clock = clock
        self.policy = self.config.turn_policy
        # The detector ends a turn after the longest silence the policy allows; the policy ends it sooner.
        self.streaming = self.config.streaming and bool(getattr(stt, "supports_tail", False))
        self.detector = TurnDetector(
            end_of_turn_silence_ms=self.policy.longest_ms, pause_ms=PAUSE_PASS_MS if self.streaming else 100
        )
        self.started_at = datetime.now(UTC)
        self.turns: list[Turn] = []
        self.outcome: str | None = None
        self.ended = asyncio.Event()
        self.events: CallEventSink = NO_EVENTS  # live view of the call (the console); set by the runtime

        self.audio_ms = 0  # audio time: 20 ms per inbound frame
        self._preroll: list[bytes] = []
        self._utterance = bytearray()
        self._last_voiced_wall = 0.0
        self._voiced_end = 0  # bytes into the utterance at its last voiced frame
        # The pauses between clauses the caller went on after, in this utterance: (voice ended, voice resumed) bytes.
        self._clause_pauses: list[tuple[int, int]] = []
        self._utterance_overlapped_ai = False
        self._interrupted_ai = False  # this utterance has already cut the AI off
        self._stream = StreamingTranscript(call.language)
        self._generation = 0
        self._partial: _Partial | None = None
        self._pass: asyncio.Task[None] | None = None  # the latest pass started
        self._final_pass: asyncio.Task[None] | None = None  # the latest started in a pause (may overlap a partial)
        self._final_pass_voiced_end = 0  # the caller's last voiced frame when it started (bytes)
        self._passes: list[asyncio.Task[None]] = []  # passes started and maybe still running (pruned as they start)
        self._pass_started_bytes = 0
        self._final_wanted = False
        self._prepared: _Prepared | None = None
        # The longest pause the caller went on after (mid-line), so far in the call: the end-of-turn policy waits
        # that out. A turn the loop ended just before the caller went on counts too (audio time of its last word).
        self._caller_pause_ms = 0
        self._last_turn_voiced_ms: int | None = None
        self._respond: asyncio.Task[None] | None = None
        self._playback: _Playback | None = None
        self._quiet_since_ms = 0  # audio time since neither side has spoken
        self._prompted = False
        self._hangup_after_playback: str | None = None
        self._mark_counter = 0
        self._tasks: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------------ inbound events
    async def start(self) -> None:
        if self.config.greet:
            await self._say_own_line(lines.GREETING, kind="greeting")

    async def on_audio(self, frame: bytes) -> None:
        """One inbound 20 ms PCM16 16 kHz frame."""
        if self.outcome is not None:
            return
        if len(frame) != PCM_FRAME_BYTES:
            frame = frame[:PCM_FRAME_BYTES].ljust(PCM_FRAME_BYTES, b"\x00")
        self.audio_ms += FRAME_MS
        voiced = self.vad.is_speech(frame)
        gap_ms = self.detector.silence_ms if self.detector.in_speech else 0
        event = self.detector.feed(voiced)
        if event is None and self.detector.in_speech and self.detector.silence_ms > 0 and self._turn_may_end():
            event = self.detector.end_turn()
        if self.detector.in_speech or event is Event.TURN_ENDED:
            self._utterance.extend(frame)
        else:
            self._preroll.append(frame)
            del self._preroll[:-PREROLL_FRAMES]
        if voiced and self.detector.in_speech:
            self._last_voiced_wall = self.clock()
            pause_start, self._voiced_end = self._voiced_end, len(self._utterance)
            if gap_ms:  # the caller goes on after a pause
                if gap_ms >= COMMIT_PAUSE_MS:
                    self._clause_pauses.append((pause_start, self._voiced_end - len(frame)))
                self._caller_went_on(gap_ms)
                self._final_wanted = False
                self._commit_pause()

        if event is Event.SPEECH_STARTED:
            self._on_speech_started()
        elif event is Event.SPEECH_PAUSED:
            self._final_wanted = True
            self._maybe_start_pass()
        elif event is Event.TURN_ENDED:
            await self._on_turn_ended()
        if self.detector.in_speech:
            await self._check_barge_in()
            self._maybe_start_pass()
        await self._check_timers()

    def on_mark(self, name: str) -> None:
        """The carrier played the audio up to this mark."""
        playback = self._playback
        if playback is None or name not in playback.segments:
            return
        playback.heard.append(playback.segments.pop(name))
        if not playback.segments:
            self._playback_finished()

    async def on_dtmf(self, digit: str) -> None:
        log.info("dtmf", call_id=self.call.call_id, digit=digit)

    async def on_stop(self) -> None:
        """The carrier ended the stream (the caller hung up)."""
        await self.finish(self.outcome or "caller_hung_up", hang_up=False)

    # ------------------------------------------------------------------ speech and turns
    def _on_speech_started(self) -> None:
        if self._last_turn_voiced_ms is not None:
            # Speech started start_frames ago. Soon after their last word, while the reply to it is still coming or
            # playing, the caller was not answering it: they had only paused.
            gap = self.audio_ms - self.detector.start_frames * FRAME_MS - self._last_turn_voiced_ms
            replying = self.ai_speaking or (self._respond is not None and not self._respond.done())
            if replying and 0 < gap < CONTINUATION_GAP_MS:
                self._caller_went_on(gap)
            self._last_turn_voiced_ms = None
        self._generation += 1
        self._utterance = bytearray(b"".join(self._preroll)) + self._utterance
        self._voiced_end = len(self._utterance)
        self._preroll.clear()
        self._partial = None
        self._prepared = None
        self._final_wanted = False
        self._pass_started_bytes = 0
        self._utterance_overlapped_ai = self.ai_speaking
        self._interrupted_ai = False
        self._stream = StreamingTranscript(self.call.language)
        self._clause_pauses = []

    def _turn_may_end(self) -> bool:
        """The policy's verdict on the silence so far, given the transcript of the whole utterance if known."""
        partial = self._partial
        text = partial.text if _complete(partial, self._generation, self._voiced_end) and partial else None
        return self.policy.ends_turn(
            text,
            self.call.language,
            self.detector.silence_ms,
            self._caller_pause_ms,
            caller_seen_pausing=self._caller_pause_ms >= COMMIT_PAUSE_MS,
        )

    def _caller_went_on(self, pause_ms: int) -> None:
        """The caller spoke again after ``pause_ms`` of silence without yielding: they pause that long mid-line."""
        self._caller_pause_ms = max(self._caller_pause_ms, pause_ms)

    def _commit_pause(self) -> None:
        """The caller went on after a pause: a pass that heard everything before it heard its clause whole; settle it.

        Whether the pass started at the first silent frame or later, what counts is the pause that followed: a stop
        inside a word is shorter than COMMIT_PAUSE_MS, a clause boundary is not.
        """
        partial = self._partial
        if (
            self.streaming
            and partial is not None
            and partial.generation == self._generation
            and partial.final
            and partial.tail_start == self._stream.tail_start
            # The pass's audio ended inside such a pause (it may finish after the caller made more, shorter stops).
            and any(start <= partial.covered_bytes <= end for start, end in self._clause_pauses)
        ):
            self._stream.commit_through(partial.covered_bytes, partial.tail_text)

    @property
    def ai_speaking(self) -> bool:
        playback = self._playback
        if playback is None:
            return False
        if self.output.supports_marks:
            return bool(playback.segments) and self.audio_ms < playback.ends_at_ms + MARK_GRACE_MS
        return self.audio_ms < playback.ends_at_ms

    def _maybe_start_pass(self) -> None:
        size = len(self._utterance)
        if size == 0:
            return
        want_final = self._final_wanted and not _complete(self._partial, self._generation, self._voiced_end)
        if want_final and self.streaming:
            # The pass at a pause decides the end of the turn: it does not wait for a partial still running (the
            # recogniser runs two passes at once), nor for a pass made in an earlier, shorter pause.
            if len(self._running_passes()) >= MAX_PASSES_AT_ONCE or (
                _running(self._final_pass) and self._final_pass_voiced_end == self._voiced_end
            ):
                return
        elif _running(self._pass):
            return
        new_ms = (size - self._pass_started_bytes) / _BYTES_PER_MS
        if not want_final and (
            new_ms < PARTIAL_EVERY_MS or size / _BYTES_PER_MS < MIN_PARTIAL_MS or not self._partials_useful(size)
        ):
            return
        final = self.detector.silence_ms > 0 or not self.detector.in_speech
        self._pass_started_bytes = size
        self._start_pass(bytes(self._utterance), self._generation, final, silence_ms=self.detector.silence_ms)

    def _start_pass(self, audio: bytes, generation: int, final: bool, *, silence_ms: int) -> asyncio.Task[None]:
        """Run a pass over ``audio`` (utterance ``generation`` as far as heard) and keep track of it."""
        task = self._spawn(self._run_pass(audio, generation, final, silence_ms=silence_ms), "stt-pass")
        self._pass = task
        self._passes = [*self._running_passes(), task]
        if final:
            self._final_pass, self._final_pass_voiced_end = task, self._voiced_end
        return task

    def _running_passes(self) -> list[asyncio.Task[None]]:
        return [task for task in self._passes if not task.done()]

    def _partials_useful(self, size: int) -> bool:
        """Whether a pass while the caller speaks earns its CPU (streaming: the pass at the pause hears the clause).

        It does over the AI's voice (a backchannel must not cut the AI off), and over a tail long enough for
        agreement to commit. Otherwise it would only compete with the pass at the next pause, the one that decides.
        """
        if not self.streaming:
            return True
        return self.ai_speaking or self._stream.wants_timestamps(size)

    async def _run_pass(self, audio: bytes, generation: int, final: bool, *, silence_ms: int = 0) -> None:
        started = self.clock()
        tail_start, tail_text = 0, ""
        if self.streaming and generation == self._generation:
            stream = self._stream
            tail_start, committed = stream.tail_start, list(stream.committed)
            timestamps = stream.wants_timestamps(len(audio))
            stt: TailSpeechToText = self.stt  # type: ignore[assignment]  # checked by supports_tail
            if len(audio) - tail_start < MIN_TAIL_MS * _BYTES_PER_MS:
                tail = TailTranscript("")
            else:
                tail = await stt.transcribe_tail(
                    audio[tail_start:], self.call.language, prompt=stream.committed_text, timestamps=timestamps
                )
            tail_text = tail.text
            if tail.segments and generation == self._generation:
                stream.agree(tail_start, tail.segments, (len(audio) - tail_start) / (_BYTES_PER_MS * 1000))
            text = StreamingTranscript(self.call.language, committed).full_text(tail_text)
        else:
            text = await self.stt.transcribe(audio, self.call.language)
        pass_ms = (self.clock() - started) * 1000
        metrics.COMPONENT_LATENCY.labels("stt_pass").observe(pass_ms / 1000)
        current = self._partial
        if current is not None and current.generation == generation and len(audio) < current.covered_bytes:
            return  # a newer pass already answered
        self._partial = _Partial(
            generation, text, covered_bytes=len(audio), final=final, pass_ms=pass_ms,
            tail_start=tail_start, tail_text=tail_text, silence_ms=silence_ms,
        )  # fmt: skip
        if generation != self._generation:
            return  # the caller has started a new utterance since
        if self._voiced_end > len(audio):
            self._commit_pause()  # the caller went on while this pass (made in the pause) ran
        self.events.hearing(text)
        if text and (self._prepared is None or self._prepared.text != text) and not lines.is_backchannel(text):
            self._prepare_reply(text)
        if self._final_wanted and self.detector.in_speech:
            self._maybe_start_pass()  # the caller paused while this pass ran: hear the end too

    def _prepare_reply(self, text: str) -> None:
        """Ask what the engine would answer (dry run) and get that answer's audio ready."""
        reply = self._spawn(self.replies.manage(self.call, text, dry_run=True), "dry-run")
        prepared = _Prepared(text=text, reply=reply)
        self._prepared = prepared

        def audio_when_known(task: asyncio.Task[Reply]) -> None:
            if not task.cancelled() and task.exception() is None and task.result().text:
                prepared.audio = self.prepared.ensure(task.result().text, self.call.language)

        reply.add_done_callback(audio_when_known)

    async def _on_turn_ended(self) -> None:
        turn_end_wall = self.clock()
        self._last_turn_voiced_ms = self.audio_ms - self.detector.silence_ms
        last_voiced = self._last_voiced_wall
        utterance = _Utterance(bytes(self._utterance), self._generation, self._voiced_end)
        self._utterance = bytearray()
        if self.ai_speaking or (self._utterance_overlapped_ai and not self._interrupted_ai):
            # Spoken over the AI: a backchannel is ignored, anything else interrupts (if it has not already).
            # A caller who already cut the AI off (e.g. talking over the greeting) is answered like any turn.
            self._spawn(self._overlapped_turn(utterance, last_voiced, turn_end_wall), "overlap")
            return
        self._start_response(utterance, last_voiced, turn_end_wall)

    def _start_response(self, utterance: _Utterance, last_voiced: float, turn_end: float) -> None:
        self._prompted = False
        if self._respond is not None and not self._respond.done():
            self._respond.cancel()
        self._respond = self._spawn(self._respond_to_turn(utterance, last_voiced, turn_end), "respond")

    async def _overlapped_turn(self, utterance: _Utterance, last_voiced: float, turn_end: float) -> None:
        text = await self._transcribe_now(utterance)
        if not text or lines.is_backchannel(text):
            log.info("backchannel_ignored", call_id=self.call.call_id, text=text)
            return
        if self.ai_speaking:
            await self._interrupt()
        self._start_response(utterance, last_voiced, turn_end)

    async def _transcribe_now(self, utterance: _Utterance) -> str:
        """The whole utterance's text: the final pass if it ran, else a pass now."""
        for running in self._running_passes():
            with contextlib.suppress(Exception):
                await running
        partial = self._partial
        if partial is not None and _complete(partial, utterance.generation, utterance.voiced_end):
            return partial.text
        return await self.stt.transcribe(utterance.audio, self.call.language)

    async def _respond_to_turn(self, utterance: _Utterance, last_voiced: float, turn_end: float) -> None:
        turn = Turn(index=self._next_turn_index())
        timings = turn.timings_ms
        timings["endpointing"] = (turn_end - last_voiced) * 1000
        metrics.COMPONENT_LATENCY.labels("endpointing").observe(turn_end - last_voiced)
        self.turns.append(turn)

        # 1. Text: the final pass if it is done, else the partial whose reply is prepared, else wait for one.
        text, speculative = await self._turn_text(utterance)
        stt_done = self.clock()
        timings["stt"] = (stt_done - turn_end) * 1000
        metrics.COMPONENT_LATENCY.labels("stt").observe(stt_done - turn_end)
        turn.caller_text = text
        turn.speculative = speculative
        if not text:
            turn.kind = "unheard"
            self._quiet_since_ms = self.audio_ms
            return
        # The caller's words of this turn are known here (turn.caller_text); the AI's below (turn.ai_text).
        self.events.caller_said(turn.index, text, timings)
        # 2. Reply: the real call, with the prepared (dry-run) reply used if it is ready for the same text.
        real = self._spawn(self.replies.manage(self.call, text), "manage")
        prepared = self._prepared if self._prepared is not None and self._prepared.text == text else None
        reply: Reply
        if prepared is not None and prepared.reply.done() and prepared.reply.exception() is None:
            reply = prepared.reply.result()
        else:
            try:
                reply = await real
            except Exception as error:  # the engine is down: say something sensible, keep the call
                log.warning("manage_failed", call_id=self.call.call_id, error=str(error)[:200])
                reply = Reply(text=lines.SILENCE_PROMPT[self.call.language], intent="unknown", reason="engine_down")
        reply_done = self.clock()
        timings["reply"] = (reply_done - stt_done) * 1000
        metrics.COMPONENT_LATENCY.labels("reply").observe(reply_done - stt_done)
        if speculative:
            metrics.SPECULATIVE_TURNS.inc()
        turn.ai_text, turn.intent, turn.stage = reply.text, reply.intent, reply.stage
        self.events.ai_said(turn.index, reply.text, intent=reply.intent, stage=reply.stage, kind=turn.kind)
        # 3. Audio: prepared, cached, or streamed from the TTS engine.
        await self._speak(turn, reply.text, last_voiced=last_voiced, after=reply_done, prepared=prepared)
        self._spawn(self._confirm(turn, real, reply), "confirm")
        if speculative:
            self._spawn(self._record_full_transcript(turn, utterance), "final-transcript")

    async def _turn_text(self, utterance: _Utterance) -> tuple[str, bool]:
        """The caller's words, and whether they come from a partial pass (decided early, before the final one).

        The final pass (the whole utterance) gets ``final_pass_wait_seconds``; if it is not done by then, a partial
        that heard most of the utterance answers and the final pass completes the record afterwards.
        """
        size, generation = len(utterance.audio), utterance.generation
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.final_pass_wait_seconds
        started_final = False
        while True:
            partial = self._partial
            if partial is not None and _complete(partial, generation, utterance.voiced_end):
                return partial.text, False
            waiting_for = self._final_pass if self.streaming else self._pass
            if not _running(waiting_for) and not started_final:
                # The pass at the pause heard less than the whole utterance (or none ran): hear all of it now.
                started_final = True
                waiting_for = self._start_pass(utterance.audio, generation, final=True, silence_ms=COMMIT_PAUSE_MS)
            remaining = deadline - loop.time()
            if remaining <= 0 or waiting_for is None or waiting_for.done():
                break
            with contextlib.suppress(Exception):  # a timeout here only means: decide without it
                await asyncio.wait_for(asyncio.shield(waiting_for), remaining)
        partial = self._partial
        if self._usable_partial(partial, generation, size):
            assert partial is not None
            return partial.text, True
        return await self._transcribe_now(utterance), False  # nothing usable: the final pass, however long

    @staticmethod
    def _usable_partial(partial: _Partial | None, generation: int, size: int) -> bool:
        """A partial that heard most of the utterance is good enough to answer now (spam pitches open with intent)."""
        return (
            partial is not None
            and partial.generation == generation
            and bool(partial.text)
            and partial.covered_bytes >= size * SPECULATIVE_MIN_COVERAGE
        )

    async def _record_full_transcript(self, turn: Turn, utterance: _Utterance) -> None:
        """The reply went out on a partial transcript: the record keeps what the caller said in full."""
        with contextlib.suppress(Exception):
            turn.caller_text = await self._transcribe_now(utterance) or turn.caller_text
            self.events.caller_said(turn.index, turn.caller_text, turn.timings_ms)

    async def _confirm(self, turn: Turn, real: asyncio.Task[Reply], sent: Reply) -> None:
        """The state-changing manage call: it decides termination; a different reply than sent is logged."""
        try:
            confirmed = await real
        except Exception as error:  # engine failure already handled for the reply; end the call gracefully later
            log.warning("manage_confirm_failed", call_id=self.call.call_id, error=str(error)[:200])
            return
        if confirmed.text != sent.text:
            log.info("prepared_reply_differed", call_id=self.call.call_id, turn=turn.index)
        turn.intent, turn.stage = confirmed.intent, confirmed.stage
        if confirmed.should_terminate:
            self._hangup_after_playback = confirmed.reason or "conversation_ended"
            if not self.ai_speaking:
                await self.finish(self._hangup_after_playback)

    # ------------------------------------------------------------------ speaking
    async def _speak(
        self,
        turn: Turn,
        text: str,
        *,
        last_voiced: float | None,
        after: float,
        prepared: _Prepared | None = None,
    ) -> None:
        timings = turn.timings_ms
        audio = self.prepared.get(text, self.call.language)
        if audio is None and prepared is not None and prepared.audio is not None and prepared.audio.done():
            with contextlib.suppress(Exception):
                audio = prepared.audio.result()
        playback = _Playback(turn=turn, started_ms=self.audio_ms, ends_at_ms=self.audio_ms)
        self._playback = playback
        first = True
        if audio is not None:
            chunks: Any = _one(audio)
        else:
            chunks = self.tts.synthesize(text, self.call.language)
        try:
            async for chunk in chunks:
                now = self.clock()
                if first:
                    timings["tts_first_byte"] = (now - after) * 1000
                    metrics.COMPONENT_LATENCY.labels("tts_first_byte").observe(now - after)
                    # The first 100 ms go out alone: the caller hears the reply start before the rest is encoded.
                    await self.output.send_audio(chunk[:FIRST_SEND_BYTES])
                    chunk_rest = chunk[FIRST_SEND_BYTES:]
                else:
                    chunk_rest = chunk
                if first:
                    sent = self.clock()
                    timings["send"] = (sent - now) * 1000
                    metrics.COMPONENT_LATENCY.labels("send").observe(sent - now)
                    if last_voiced is not None:
                        timings["voice_to_voice"] = (sent - last_voiced) * 1000
                        metrics.RESPONSE_LATENCY.observe(sent - last_voiced)
                    first = False
                if chunk_rest:
                    await self.output.send_audio(chunk_rest)
                await self._mark_segment(playback, chunk, text)
        except asyncio.CancelledError:
            turn.interrupted = True
            raise
        except Exception as error:  # no voice at all: the call goes on, the turn is recorded without audio
            log.warning("tts_failed", call_id=self.call.call_id, error=str(error)[:200])
        turn.heard_text = text

    async def _mark_segment(self, playback: _Playback, chunk: bytes, text: str) -> None:
        start = max(self.audio_ms, playback.ends_at_ms)
        playback.ends_at_ms = start + duration_ms(chunk)
        if self.output.supports_marks:
            self._mark_counter += 1
            name = f"t{playback.turn.index}-{self._mark_counter}"
            playback.segments[name] = text
            await self.output.send_mark(name)

    async def _say_own_line(self, table: dict[str, str], *, kind: str) -> None:
        text = table.get(self.call.language) or table["en-US"]
        turn = Turn(index=self._next_turn_index(), ai_text=text, kind=kind)
        self.turns.append(turn)
        self.events.ai_said(turn.index, text, intent=None, stage=None, kind=kind)
        await self._speak(turn, text, last_voiced=None, after=self.clock())
        self._quiet_since_ms = self.audio_ms

    def _playback_finished(self) -> None:
        playback = self._playback
        if playback is None:
            return
        self._playback = None
        self._quiet_since_ms = self.audio_ms
        if self._hangup_after_playback is not None:
            self._spawn(self.finish(self._hangup_after_playback), "hangup")

    async def _check_barge_in(self) -> None:
        if not self.ai_speaking or self.detector.voiced_ms < self.config.barge_in_min_speech_ms:
            return
        # Long enough to be a real interruption, unless what has been heard so far is an acknowledgement.
        partial = self._partial
        if partial is not None and partial.text and lines.is_backchannel(partial.text):
            return
        await self._interrupt()

    async def _interrupt(self) -> None:
        playback = self._playback
        if playback is None:
            return
        await self.output.clear()
        metrics.BARGE_INS.inc()
        turn = playback.turn
        turn.interrupted = True
        self._interrupted_ai = self.detector.in_speech
        if self.output.supports_marks:
            turn.heard_text = " ".join(playback.heard)
        else:  # no marks (ACS): the share of the text whose audio had time to play
            length = max(1.0, playback.ends_at_ms - playback.started_ms)
            played = min(1.0, max(0.0, (self.audio_ms - playback.started_ms) / length))
            turn.heard_text = turn.ai_text[: int(len(turn.ai_text) * played)]
        self._playback = None
        if self._respond is not None and not self._respond.done():
            self._respond.cancel()
        if self._hangup_after_playback is not None:
            self._hangup_after_playback = None  # they are still talking: hear them out first
        log.info("barge_in", call_id=self.call.call_id, turn=turn.index, heard=turn.heard_text[:60])

    async def _check_timers(self) -> None:
        if self.outcome is not None:
            return
        if self._playback is not None and not self.ai_speaking:
            self._playback_finished()
            if self.outcome is not None:
                return
        if self.audio_ms >= self.config.max_call_ms and self._hangup_after_playback is None:
            await self._say_goodbye("max_duration")
            return
        busy = self.detector.in_speech or self.ai_speaking or (self._respond is not None and not self._respond.done())
        if busy:
            self._quiet_since_ms = self.audio_ms
            return
        quiet = self.audio_ms - self._quiet_since_ms
        if not self._prompted and quiet >= self.config.silence_prompt_ms:
            self._prompted = True
            await self._say_own_line(lines.SILENCE_PROMPT, kind="prompt")
        elif self._prompted and quiet >= self.config.silence_goodbye_ms and self._hangup_after_playback is None:
            await self._say_goodbye("caller_silent")

    async def _say_goodbye(self, outcome: str) -> None:
        self._hangup_after_playback = outcome
        await self._say_own_line(lines.GOODBYE, kind="goodbye")

    # ------------------------------------------------------------------ ending
    async def finish(self, outcome: str, *, hang_up: bool = True) -> None:
        if self.outcome is not None:
            return
        self.outcome = outcome
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current and task.get_name() not in ("final-transcript", "confirm"):
                task.cancel()
        if hang_up:
            with contextlib.suppress(Exception):
                await self.output.hangup()
        metrics.CALLS_ENDED.labels(outcome).inc()
        log.info("call_finished", call_id=self.call.call_id, outcome=outcome, turns=len(self.turns))
        self.ended.set()

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait for the background work that completes the record (final transcripts, confirmations)."""
        current = asyncio.current_task()
        pending = [task for task in self._tasks if not task.done() and task is not current]
        if pending:
            _, late = await asyncio.wait(pending, timeout=timeout)
            if late:
                log.warning("session_tasks_unfinished", call_id=self.call.call_id, tasks=[t.get_name() for t in late])

    # ------------------------------------------------------------------ helpers
    def _next_turn_index(self) -> int:
        return len(self.turns)

    def _spawn(self, coroutine: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("session_task_failed", call_id=self.call.call_id, task=task.get_name(),
                        error=str(task.exception())[:200])  # fmt: skip


async def _one(audio: bytes) -> Any:
    yield audio
