"""The cost of authenticating calls: per decision (the stream token phone-gateway signs and realtime-processor
verifies and spends once per call; each carrier's webhook check) and per media frame (zero: the token is checked
once per stream, so a frame pays only the "has the call started" branch).

Run: .venv/bin/python bench/auth_bench.py [--runs 5] [--iterations 2000]

Prints microseconds per operation, the median of ``--runs`` runs of ``--iterations`` each: CPU time (process time,
so a busy shared machine does not inflate it) for the checks, wall time for the spend (single use), measured on
the in-process cache and on a real Redis (SET NX PX) started for the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.harness.servers import RedisServer

from answer_ninja.platform.auth.stream_tokens import issue_stream_token, spend, stream_key, verify_stream_token
from answer_ninja.platform.cache import Cache, MemoryCache, RedisCache
from answer_ninja.telephony import twilio_media, twilio_voice, webhook_auth
from answer_ninja.telephony.codec import MULAW_FRAME_BYTES

KEY = stream_key(b"bench-internal-secret-0123456789abcdef")
TWILIO_TOKEN = "bench-twilio-auth-token-0123456789"
URL = "https://calls.example.com/twilio/voice"
FORM = {
    "CallSid": "CA" + "0" * 32,
    "AccountSid": "AC" + "0" * 32,
    "From": "+8613800138000",
    "To": "+8610012345678",
    "CallStatus": "ringing",
    "Direction": "inbound",
    "ApiVersion": "2010-04-01",
}
BODY = json.dumps({"from": "+8613800138000", "to": "+8610012345678", "carrier": "loopback"}).encode()
FRAME = twilio_media.inbound_media_message("MZ1", b"\xff" * MULAW_FRAME_BYTES, 7)
# A call of a minute carries 3,000 inbound frames (50 a second): what one token check is spread over.
FRAMES_PER_MINUTE = 50 * 60


def token() -> str:
    return issue_stream_token(
        KEY, call_id="c" * 32, user_id="u" * 32, language="zh-CN", persona="polite", max_call_seconds=180,
        carrier="twilio",
    )  # fmt: skip


def per_op_us(operation: Callable[[], object], iterations: int, runs: int) -> float:
    """CPU microseconds per call (process time: on a shared machine, time spent waiting for a core is not ours)."""
    results = []
    for _ in range(runs):
        started = time.process_time()
        for _ in range(iterations):
            operation()
        results.append((time.process_time() - started) / iterations * 1e6)
    return statistics.median(results)


def spend_us(cache_factory: Callable[[], Cache], iterations: int, runs: int) -> float:
    """Wall microseconds per spend (a Redis round trip waits on the network, which process time would hide)."""
    claims = [verify_stream_token(KEY, token()) for _ in range(iterations * runs)]

    async def run() -> float:
        cache = cache_factory()
        try:
            results = []
            for run_index in range(runs):
                batch = claims[run_index * iterations : (run_index + 1) * iterations]
                started = time.perf_counter()
                for claim in batch:
                    await spend(cache, claim)
                results.append((time.perf_counter() - started) / iterations * 1e6)
            return statistics.median(results)
        finally:
            await cache.close()

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=2000)
    args = parser.parse_args()
    runs, n = args.runs, args.iterations

    issued = token()
    signature = twilio_voice.sign(TWILIO_TOKEN, URL, FORM)
    body_signature = webhook_auth.sign_body("bench-webhook-secret", BODY)
    figures: dict[str, float] = {
        "stream token: sign (phone-gateway, per AI call)": per_op_us(token, n, runs),
        "stream token: verify (realtime-processor, per stream)": per_op_us(
            lambda: verify_stream_token(KEY, issued), n, runs
        ),
        "stream token: spend, in-process (per stream)": spend_us(MemoryCache, n, runs),
    }
    redis = RedisServer()
    redis.start()
    try:
        figures["stream token: spend, Redis SET NX (per stream)"] = spend_us(lambda: RedisCache(redis.url), n, runs)
    finally:
        redis.stop()
    figures["Twilio X-Twilio-Signature check (per webhook)"] = per_op_us(
        lambda: twilio_voice.signature_is_valid(TWILIO_TOKEN, URL, FORM, signature), n, runs
    )
    figures["generic webhook HMAC-SHA256 check (per webhook)"] = per_op_us(
        lambda: webhook_auth.check_body_signature("bench-webhook-secret", BODY, body_signature), n, runs
    )
    figures["ACS shared secret check (per webhook)"] = per_op_us(
        lambda: webhook_auth.check_shared_secret("bench-acs-secret", "bench-acs-secret"), n, runs
    )
    figures.update(_entra_jwt(n, runs))
    # Per frame: what a media frame costs on the fast path, and the token's one-off cost spread over a minute.
    frame_us = per_op_us(lambda: twilio_media.media_payload(FRAME), n * 10, runs)
    once = figures["stream token: verify (realtime-processor, per stream)"]
    once += figures["stream token: spend, Redis SET NX (per stream)"]

    print(f"auth bench: median of {runs} runs x {n} operations")
    for name, value in figures.items():
        print(f"  {name:<58} {value:9.2f} us")
    print(f"  {'media frame fast path (decode, no auth work)':<58} {frame_us:9.2f} us")
    print(f"  {'token check spread over a 1-minute call, per frame':<58} {once / FRAMES_PER_MINUTE * 1000:9.2f} ns")
    print(f"  {'auth operations per media frame':<58} {0:9d}")


def _entra_jwt(iterations: int, runs: int) -> dict[str, float]:
    try:
        import jwt
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
    except ImportError:
        print("(cryptography not installed: the Entra ID JWT check is not measured)")
        return {}
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    signed = jwt.encode({"aud": "api://bench", "exp": int(time.time()) + 3600}, key, algorithm="RS256")
    parsed = serialization.load_pem_public_key(public.encode())
    return {
        "ACS Entra ID JWT RS256 check (per webhook)": per_op_us(
            lambda: webhook_auth.check_entra_jwt(signed, parsed, audience="api://bench", issuer=None),
            max(1, iterations // 4),
            runs,
        )
    }


if __name__ == "__main__":
    main()
