"""A summary of one finished call: intent, turns, outcome, duration and the key lines of the transcript."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# Enough for a notification: the caller's opening, the line that showed their intent, and the last exchange.
MAX_KEY_LINES = 4


@dataclass(frozen=True)
class Line:
    speaker: str  # caller | ai
    text: str
    intent: str | None = None


def lines_from_transcript(transcript: Sequence[Any]) -> list[Line]:
    """Lines from call_records.transcript ([{"speaker", "text", "intent"?}, ...]); other items are skipped."""
    lines = []
    for item in transcript:
        if isinstance(item, dict) and isinstance(item.get("text"), str) and item["text"].strip():
            intent = item.get("intent")
            lines.append(Line(str(item.get("speaker", "caller")), item["text"].strip(), intent if intent else None))
    return lines


def caller_intent(record_intent: str | None, lines: Sequence[Line]) -> str:
    """The record's intent when the conversation set one, else the caller's most frequent classified intent."""
    if record_intent:
        return record_intent
    counts = Counter(line.intent for line in lines if line.speaker == "caller" and line.intent)
    return counts.most_common(1)[0][0] if counts else "unknown"


def key_lines(lines: Sequence[Line]) -> list[dict[str, str]]:
    caller_lines = [index for index, line in enumerate(lines) if line.speaker == "caller"]
    chosen: list[int] = []
    if caller_lines:
        chosen.append(caller_lines[0])
    first_intent = next((i for i in caller_lines if lines[i].intent and lines[i].intent != "unknown"), None)
    if first_intent is not None:
        chosen.append(first_intent)
    chosen.extend(range(max(0, len(lines) - 2), len(lines)))
    unique = sorted(dict.fromkeys(chosen))[:MAX_KEY_LINES]
    return [{"speaker": lines[i].speaker, "text": lines[i].text[:300]} for i in unique]


def summarise(
    *,
    record_intent: str | None,
    outcome: str | None,
    decision: str | None,
    duration_seconds: float | None,
    lines: Sequence[Line],
) -> dict[str, Any]:
    return {
        "intent": caller_intent(record_intent, lines),
        "turns": sum(1 for line in lines if line.speaker == "caller"),
        "outcome": outcome or decision or "unknown",
        "duration_seconds": round(duration_seconds or 0.0, 1),
        "key_lines": key_lines(lines),
    }
