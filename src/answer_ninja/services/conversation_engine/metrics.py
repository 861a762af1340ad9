"""conversation-engine's own Prometheus metrics (module-level: one registry per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

TURNS = Counter(
    "ai_ninja_conversation_turns_total", "Caller turns handled, by call intent and stage.", ["intent", "stage"]
)
REPLIES = Counter(
    "ai_ninja_conversation_replies_total",
    "Replies by source (template or llm) and fallback reason (none, timeout, circuit_open, error, unsafe_reply).",
    ["source", "fallback"],
)
ENDS = Counter("ai_ninja_conversation_ends_total", "Calls ended, by end reason.", ["reason"])
TURN_LATENCY = Histogram(
    "ai_ninja_conversation_turn_seconds",
    "Time to understand a turn and choose its reply (state load and save included).",
    ["source"],
    # The template path should stay under 5 ms and the whole stage under 200 ms.
    buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0),
)
STATE_ERRORS = Counter(
    "ai_ninja_conversation_state_errors_total",
    "Turns whose state read or write failed or was too slow (the turn went on without it).",
)
LLM_CIRCUIT_OPEN = Gauge("ai_ninja_llm_circuit_open", "1 while the LLM circuit breaker is open.")
