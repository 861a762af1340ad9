"""The login-flood drill (``answer-ninja drill login-flood``): many tasks post wrong passwords to the running stack's
sign-in for N seconds, while user-management's /ready is watched; then the responder's record is read.

It passes when the flood ends in throttling, not in restarts: 429s (or 503 with Retry-After) were answered, the
responder restarted nothing and turned no degraded mode on, and user-management stayed ready throughout.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from answer_ninja.ops.remediate import RESTARTING_KINDS
from answer_ninja.supervisor.client import SupervisorClient

LOGIN_PATH = "/api/v1/auth/login"
READY_POLL_SECONDS = 0.5
# Emails the flood cycles through: one guessed account hit hard, and fresh ones (per-address throttling's job).
TARGET_EMAILS = 8


@dataclass
class FloodResult:
    seconds: float
    concurrency: int
    started_at: datetime
    statuses: Counter[str] = field(default_factory=Counter)
    ready_polls: int = 0
    unready_polls: int = 0
    longest_unready_seconds: float = 0.0
    responder_restarts: int = 0
    responder_actions: list[str] = field(default_factory=list)
    process_restarts: int = 0  # every restart the supervisor counted (crashes included), all services
    incidents: list[str] = field(default_factory=list)
    degraded_mode_at_end: bool | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def attempts(self) -> int:
        return sum(self.statuses.values())

    @property
    def throttled(self) -> int:
        return self.statuses["429"] + self.statuses["503"]

    @property
    def ready_throughout(self) -> bool:
        return self.ready_polls > 0 and self.unready_polls == 0

    @property
    def passed(self) -> bool:
        return (
            self.throttled > 0
            and self.responder_restarts == 0
            and self.process_restarts == 0
            and self.degraded_mode_at_end is False
            and self.ready_throughout
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "fault": "login-flood",
            "seconds": self.seconds,
            "concurrency": self.concurrency,
            "attempts": self.attempts,
            "attempts_per_second": round(self.attempts / self.seconds, 1) if self.seconds else 0.0,
            "statuses": dict(sorted(self.statuses.items())),
            "throttled_429_503": self.throttled,
            "user_management_ready_polls": self.ready_polls,
            "user_management_unready_polls": self.unready_polls,
            "longest_unready_seconds": round(self.longest_unready_seconds, 2),
            "responder_restarts": self.responder_restarts,
            "responder_actions": self.responder_actions,
            "process_restarts": self.process_restarts,
            "incidents": self.incidents,
            "degraded_mode_at_end": self.degraded_mode_at_end,
            "passed": self.passed,
            "notes": self.notes,
        }


async def _flood_worker(client: httpx.AsyncClient, url: str, worker: int, deadline: float, seen: Counter[str]) -> None:
    attempt = 0
    while time.monotonic() < deadline:
        email = f"flood-{(worker + attempt) % TARGET_EMAILS}@drill.invalid"
        body = {"email": email, "password": secrets.token_urlsafe(12)}
        attempt += 1
        try:
            response = await client.post(url, json=body)
            status = str(response.status_code)
            if response.status_code == 503 and "retry-after" not in response.headers:
                status = "503-no-retry-after"
        except httpx.TimeoutException:
            status = "timeout"
        except httpx.HTTPError as error:
            status = type(error).__name__
        seen[status] += 1


async def _watch_ready(client: httpx.AsyncClient, url: str, stop: asyncio.Event, result: FloodResult) -> None:
    unready_since: float | None = None
    while not stop.is_set():
        try:
            ready = (await client.get(url, timeout=2.0)).status_code == 200
        except httpx.HTTPError:
            ready = False
        now = time.monotonic()
        result.ready_polls += 1
        if ready:
            unready_since = None
        else:
            result.unready_polls += 1
            unready_since = unready_since or now
            result.longest_unready_seconds = max(result.longest_unready_seconds, now - unready_since)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=READY_POLL_SECONDS)


async def _restart_counts(supervisor: SupervisorClient) -> dict[str, int]:
    return {row["name"]: int(row.get("restarts") or 0) for row in await supervisor.services()}


async def run_login_flood(
    *,
    user_management_url: str,
    responder_url: str,
    responder_headers: dict[str, str],
    supervisor: SupervisorClient,
    seconds: float = 20.0,
    concurrency: int = 32,
    settle_seconds: float = 6.0,
) -> FloodResult:
    """Flood, watch, then let the responder look for ``settle_seconds`` before reading its record."""
    result = FloodResult(seconds, concurrency, datetime.now(UTC))
    before = await _restart_counts(supervisor)
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency + 4)
    stop = asyncio.Event()
    async with (
        httpx.AsyncClient(timeout=10.0, limits=limits) as flood,
        httpx.AsyncClient() as watcher,
        httpx.AsyncClient(timeout=10.0, headers=responder_headers) as responder,
    ):
        watch = asyncio.create_task(_watch_ready(watcher, user_management_url + "/ready", stop, result))
        deadline = time.monotonic() + seconds
        url = user_management_url + LOGIN_PATH
        await asyncio.gather(*(_flood_worker(flood, url, n, deadline, result.statuses) for n in range(concurrency)))
        # Keep watching while the responder gets its probes in after the flood: a late restart still counts.
        await asyncio.sleep(settle_seconds)
        stop.set()
        await watch
        await _read_responder(responder, responder_url, result)
    after = await _restart_counts(supervisor)
    result.process_restarts = sum(max(0, after.get(name, 0) - count) for name, count in before.items())
    config = await supervisor.config()
    result.degraded_mode_at_end = config.get("DEGRADED_MODE") == "true"
    return result


async def _read_responder(client: httpx.AsyncClient, responder_url: str, result: FloodResult) -> None:
    since = result.started_at
    try:
        audit = (await client.get(responder_url + "/audit", params={"limit": 200})).json()
        incidents = (await client.get(responder_url + "/incidents", params={"limit": 20})).json()
    except (httpx.HTTPError, ValueError) as error:
        result.notes.append(f"responder not readable: {type(error).__name__}")
        result.responder_restarts = -1  # unknown is not "none": the drill fails
        return
    fresh = [row for row in audit if datetime.fromisoformat(row["at"]) >= since and row.get("result") != "dry_run"]
    result.responder_actions = [f"{row['action']} {row['target']}: {row['result']}" for row in fresh]
    restarting = {str(kind) for kind in RESTARTING_KINDS}
    result.responder_restarts = sum(1 for row in fresh if row["action"] in restarting and row["result"] != "skipped")
    result.incidents = [i["id"] for i in incidents if datetime.fromisoformat(i["detected_at"]) >= since]
