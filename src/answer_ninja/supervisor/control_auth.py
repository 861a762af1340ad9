"""Who may drive the supervisor's control API: the operator's machine only (default deny).

Three checks, in one ASGI middleware in front of every route (docs and unknown paths included):

* Host must be a loopback name (127.0.0.1, localhost, [::1], any port): a DNS-rebinding page reaches us with
  its own name in Host -> 421.
* No Origin header at all: browsers send one on every cross-site POST (and on fetches), command-line clients
  never do, so a request carrying one comes from a web page -> 403.
* ``Authorization: Bearer <SUPERVISOR_TOKEN>``, compared in constant time -> 401. Only ``GET /health`` (liveness,
  says nothing but "up" and whether the token is configured) is open.

No token configured means every route but /health is refused, and /health says "not configured".
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
OPEN_PATHS = frozenset({"/health"})


def host_is_loopback(host: str | None) -> bool:
    """``127.0.0.1:3000``, ``localhost``, ``[::1]:3000`` -> True; anything else (or nothing) -> False."""
    if not host:
        return False
    name = host.strip().lower()
    if name.startswith("["):
        name = name[: name.find("]") + 1] if "]" in name else name
    elif name.count(":") == 1:
        name, _, port = name.partition(":")
        if not port.isdigit():
            return False
    return name in LOOPBACK_HOSTS


def token_matches(sent: str | None, expected: str | None) -> bool:
    """Constant-time comparison; nothing matches when no token is configured."""
    if not expected or not sent:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


def refusal(scope: Scope, headers: dict[str, str], token: str | None) -> tuple[int, str] | None:
    """Why this request is refused (status, message), or None when it may pass."""
    if not host_is_loopback(headers.get("host")):
        return 421, "the supervisor answers only requests addressed to 127.0.0.1 or localhost (Host refused)"
    if "origin" in headers:
        return 403, "cross-origin requests are refused: the control API is not for web pages (Origin sent)"
    if scope.get("method") == "GET" and scope.get("path") in OPEN_PATHS:
        return None
    if not token:
        return 401, "the control API is locked: SUPERVISOR_TOKEN is not configured"
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return 401, "missing bearer token (SUPERVISOR_TOKEN; answer-ninja commands send it by themselves)"
    if not token_matches(credentials.strip(), token):
        return 401, "invalid supervisor token"
    return None


class ControlAuth:
    """The middleware: refuse before the application sees the request."""

    def __init__(self, app: ASGIApp, *, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        refused = refusal(scope, headers, self.token)
        if refused is None:
            await self.app(scope, receive, send)
            return
        status, message = refused
        body = json.dumps({"detail": message}).encode()
        response_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if status == 401:
            response_headers.append((b"www-authenticate", b"Bearer"))
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})
