"""Headers every console response carries (a strict Content-Security-Policy and friends), the CSRF cookie, and the
cookies a handler asks to set (sign-in, token refresh, sign-out), in one pure ASGI middleware.

The CSP allows only the console's own scripts and styles: no inline script or style, nothing from another origin
(htmx is served by the console itself), no framing, forms post only to the console.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from answer_ninja.services.console.sessions import CSRF_COOKIE, CSRF_MAX_AGE_SECONDS, SessionCodec

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "media-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "cross-origin-opener-policy": "same-origin",
}


def cookie_header(
    name: str,
    value: str,
    *,
    max_age: int,
    secure: bool,
    same_site: str = "Lax",
    http_only: bool = True,
) -> str:
    """One Set-Cookie value; ``max_age=0`` deletes the cookie."""
    jar: SimpleCookie = SimpleCookie()
    jar[name] = value
    morsel = jar[name]
    morsel["path"] = "/"
    morsel["max-age"] = str(max_age)
    morsel["samesite"] = same_site
    if http_only:
        morsel["httponly"] = True
    if secure:
        morsel["secure"] = True
    return morsel.OutputString()


def pending_cookies(scope_state: Any) -> list[str]:
    """The list a handler appends Set-Cookie values to (``request.state`` or the scope's state dict)."""
    if isinstance(scope_state, dict):
        cookies: list[str] = scope_state.setdefault("set_cookies", [])
        return cookies
    existing = getattr(scope_state, "set_cookies", None)
    if isinstance(existing, list):
        return existing
    fresh: list[str] = []
    scope_state.set_cookies = fresh
    return fresh


def wants_secure_cookies(scope: Scope, configured: bool) -> bool:
    return configured or scope.get("scheme") == "https"


class ConsoleSecurityMiddleware:
    def __init__(self, app: ASGIApp, *, codec: SessionCodec, secure_cookies: bool) -> None:
        self.app = app
        self.codec = codec
        self.secure_cookies = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        cookies = pending_cookies(state)
        header = dict(scope.get("headers") or []).get(b"cookie", b"").decode("latin-1")
        token = self.codec.csrf_from_cookie(cookie_parser(header).get(CSRF_COOKIE))
        if token is None:
            token, signed = self.codec.new_csrf()
            secure = wants_secure_cookies(scope, self.secure_cookies)
            cookies.append(
                cookie_header(CSRF_COOKIE, signed, max_age=CSRF_MAX_AGE_SECONDS, secure=secure, same_site="Strict")
            )
        state["csrf"] = token

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                for cookie in cookies:
                    headers.append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_headers)
