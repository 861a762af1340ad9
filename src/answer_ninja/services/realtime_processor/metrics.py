"""realtime-processor's Prometheus metrics (module level: one registry per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Voice-turn stages live between a few ms and a few seconds.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.65, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)

COMPONENT_LATENCY = Histogram(
    "ai_component_latency_seconds",
    "Latency of one stage of a voice turn (endpointing, stt, reply, tts_first_byte, send).",
    ["component"],
    buckets=_BUCKETS,
)
RESPONSE_LATENCY = Histogram(
    "ai_response_latency_seconds",
    "Voice-to-voice: the caller's last voiced frame to the first frame of the reply sent.",
    buckets=_BUCKETS,
)
ACTIVE_CALLS = Gauge("ai_ninja_active_calls", "Media streams connected now.", ["carrier"])
CALLS_ENDED = Counter("ai_ninja_calls_ended_total", "Calls ended, by outcome.", ["outcome"])
BARGE_INS = Counter("ai_ninja_barge_ins_total", "Replies cut short because the caller spoke over them.")
SPECULATIVE_TURNS = Counter(
    "ai_ninja_speculative_turns_total", "Turns answered from a transcript prepared while the caller was speaking."
)
STREAMS_REFUSED = Counter(
    "ai_ninja_media_streams_refused_total",
    "Media streams refused before a call started (missing/invalid/expired/replayed token, not configured, capacity).",
    ["reason"],
)
STREAM_PROTOCOL_ERRORS = Counter(
    "ai_ninja_media_protocol_errors_total",
    "Media streams closed for a bad frame (binary frame, invalid JSON, bad base64, unknown event).",
    ["kind"],
)
