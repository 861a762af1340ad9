"""phone-gateway, user-management and profile-analytics served for real (uvicorn, free loopback ports) in a
background thread, on a given database and Redis, so tests speak HTTP to them like carriers and users do."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import redis
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from answer_ninja.platform.server import build_app
from answer_ninja.platform.settings import Settings, load_settings
from tests.harness.credentials import CARRIER_WEBHOOK_SECRET, SECRETS, operator_headers, service_headers
from tests.harness.servers import free_port, wait_for_port

MY_SERVICES = ("phone-gateway", "user-management", "profile-analytics")
TWILIO_TOKEN = "test-twilio-auth-token-0123456789"
ACS_SECRET = "test-acs-webhook-secret-0123456789"


@dataclass
class LiveServices:
    settings: Settings
    urls: dict[str, str]
    servers: list[uvicorn.Server] = field(default_factory=list)
    apps: dict[str, Any] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return self.urls[service]

    def client(self, service: str, token: str | None = None, *, as_service: str | None = None) -> httpx.Client:
        """A client of ``service``: as a person (``token``), as another service (``as_service``), or anonymous."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if as_service is not None:
            headers.update(service_headers(as_service, service))
        return httpx.Client(base_url=self.urls[service], headers=headers, timeout=10.0)

    def register(
        self, email: str, hosted: str, *, real_number: str | None = "+8613900000001", verify: bool = True
    ) -> tuple[str, str]:
        """Register a user hosting ``hosted``; returns (user id, access token). With ``verify`` (the default) the
        operator vouches for the numbers, as `answer-ninja users verify-number` does, so calls route at once."""
        with self.client("user-management") as users:
            body: dict[str, Any] = {"email": email, "password": "correct horse battery", "hosted_numbers": [hosted]}
            if real_number:
                body["real_number"] = real_number
            created = users.post("/api/v1/auth/register", json=body)
            assert created.status_code == 202, created.text
            login = users.post("/api/v1/auth/login", json={"email": email, "password": "correct horse battery"})
            assert login.status_code == 200, login.text
            token = login.json()["access_token"]
            if verify:
                self.vouch(email, hosted)
                if real_number:
                    self.vouch(email, real_number, purpose="forward")
            me = users.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            return me.json()["id"], token

    def vouch(self, email: str, number: str, *, purpose: str = "hosted") -> None:
        """The operator marks a user's pending number proven."""
        with self.client("user-management") as users:
            vouched = users.post(
                "/api/v1/operator/numbers/verified",
                json={"email": email, "number": number, "purpose": purpose},
                headers=operator_headers(),
            )
            assert vouched.status_code == 200, vouched.text

    def sent_code(self, number: str) -> str | None:
        """The last code the loopback carrier 'sent' to ``number`` (the services run in this process)."""
        sender = self.apps["user-management"].state.ctx.extras.get("code_sender")
        return sender.last_code(number) if sender is not None else None


def media_stub() -> Starlette:
    """realtime-processor as phone-gateway sees it before handing a call over: alive (``/health``), and knowing no
    call (``.../ending`` 404), so AI calls are answered with the stream (a dead one would get the fallback)."""

    async def health(request: Request) -> JSONResponse:
        if getattr(request.app.state, "down", False):  # a test plays realtime-processor gone
            return JSONResponse({"error": "down"}, status_code=503)
        return JSONResponse({"status": "ok", "service": "realtime-processor"})

    async def unknown(_: Request) -> JSONResponse:
        return JSONResponse({"error": "call_id: no such call here"}, status_code=404)

    return Starlette(routes=[Route("/health", health), Route("/internal/v1/calls/{call_id}/ending", unknown)])


@contextmanager
def live_services(
    database_url: str, redis_url: str | None, *, services: tuple[str, ...] = MY_SERVICES, **overrides: Any
) -> Iterator[LiveServices]:
    ports = {name: free_port() for name in (*MY_SERVICES, "realtime-processor")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    values: dict[str, Any] = dict(
        database_url=database_url,
        redis_url=redis_url,
        **SECRETS,
        twilio_auth_token=TWILIO_TOKEN,
        acs_webhook_secret=ACS_SECRET,
        carrier_webhook_secret=CARRIER_WEBHOOK_SECRET,
        phone_gateway_url=urls["phone-gateway"],
        user_management_url=urls["user-management"],
        profile_analytics_url=urls["profile-analytics"],
        realtime_processor_url=f"http://127.0.0.1:{ports['realtime-processor']}",
        log_json=True,
    )
    settings = load_settings(**{**values, **overrides})
    live = LiveServices(settings, urls)
    live.apps["media-stub"] = media_stub()
    media = uvicorn.Config(live.apps["media-stub"], host="127.0.0.1", port=ports["realtime-processor"], log_config=None)
    live.servers.append(uvicorn.Server(media))
    for name in services:
        live.apps[name] = build_app(name, settings)
        config = uvicorn.Config(live.apps[name], host="127.0.0.1", port=ports[name], log_config=None)
        live.servers.append(uvicorn.Server(config))

    async def serve_all() -> None:
        await asyncio.gather(*(server.serve() for server in live.servers))

    thread = threading.Thread(target=lambda: asyncio.run(serve_all()), daemon=True)
    thread.start()
    try:
        for name in services:
            wait_for_port(ports[name], timeout=20)
        deadline = time.monotonic() + 20
        while not all(server.started for server in live.servers) and time.monotonic() < deadline:
            time.sleep(0.02)
        gateway = live.apps.get("phone-gateway")
        while gateway is not None and time.monotonic() < deadline:  # the gateway has seen the media service up
            availability = gateway.state.ctx.extras.get("media_availability")
            if availability is not None and availability.can_stream():
                break
            time.sleep(0.05)
        yield live
    finally:
        for server in live.servers:
            server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def live(postgres_url: str, redis_url: str) -> Iterator[LiveServices]:
    """The three services on a fresh PostgreSQL database and the session's Redis (routing keys flushed)."""
    client = redis.Redis.from_url(redis_url)
    for pattern in ("routing:*", "throttle:*"):
        for key in client.scan_iter(pattern):
            client.delete(key)
    client.close()
    with live_services(postgres_url, redis_url) as services:
        yield services
