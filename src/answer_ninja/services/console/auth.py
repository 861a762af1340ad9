"""Who may use each console page, declared like every other service's routes (``rules.mark``), checked from the
session cookie instead of an Authorization header.

* ``signed_in``: a person with a valid session. What they see is decided again by each service the console calls
  with their own token (their own calls, whitelist, settings; another's answers 404).
* ``operator_signed_in``: a signed-in person whose token carries the ``operator`` role (granted only by
  ``answer-ninja users grant-operator``). The responder checks the same token again.
* ``csrf_checked``: every unsafe request carries the double-submit token (form field or X-CSRF-Token header).

An expired access token is renewed with the refresh token (user-management rotates it); concurrent requests share
one renewal through the cache, so two tabs never spend the same refresh token twice.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace

import httpx
from fastapi import Depends, Request

from answer_ninja.platform.app_factory import ServiceContext, context_of
from answer_ninja.platform.auth.keys import secret_bytes
from answer_ninja.platform.auth.rules import AccessRule, mark
from answer_ninja.platform.auth.tokens import InvalidTokenError, decode_user_token
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.console.security import cookie_header, pending_cookies, wants_secure_cookies
from answer_ninja.services.console.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    Session,
    SessionCodec,
    csrf_matches,
)

log = get_logger(__name__)

# Renew the access token when it has less than this left (a page load makes several calls with it).
RENEW_BEFORE_SECONDS = 60
# A renewal is shared this long by concurrent requests holding the same (now revoked) refresh token.
RENEWAL_SHARE_SECONDS = 60
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SignInRequired(Exception):  # noqa: N818  (control flow, answered by a redirect to the sign-in page)
    """No valid session: pages redirect to sign-in, fragments and streams answer 401."""


class OperatorRequired(Exception):  # noqa: N818
    """A signed-in person without the operator role asked for an operator page: 403."""


class CsrfRejected(Exception):  # noqa: N818
    """An unsafe request without the right CSRF token: 403, nothing done."""


@dataclass(frozen=True)
class Person:
    """The signed-in person of this request: their own credentials and what the pages need."""

    session: Session

    @property
    def user_id(self) -> str:
        return self.session.user_id

    @property
    def access_token(self) -> str:
        return self.session.access

    @property
    def is_operator(self) -> bool:
        return self.session.is_operator

    @property
    def language(self) -> str:
        return self.session.language


def codec_of(ctx: ServiceContext) -> SessionCodec:
    codec = ctx.extras.get("session_codec")
    if not isinstance(codec, SessionCodec):
        codec = SessionCodec(
            secret_bytes(ctx, "internal_secret"), max_age_seconds=ctx.settings.console_session_hours * 3600
        )
        ctx.extras["session_codec"] = codec
    return codec


def set_session_cookie(request: Request, ctx: ServiceContext, session: Session | None) -> None:
    """Queue the session cookie (None: delete it) on this request's response."""
    secure = wants_secure_cookies(request.scope, ctx.settings.console_cookie_secure)
    if session is None:
        header = cookie_header(SESSION_COOKIE, "", max_age=0, secure=secure)
    else:
        max_age = int(ctx.settings.console_session_hours * 3600)
        header = cookie_header(SESSION_COOKIE, codec_of(ctx).dumps(session), max_age=max_age, secure=secure)
    pending_cookies(request.state).append(header)
    request.state.session = session


def _seconds_left(ctx: ServiceContext, access: str) -> float:
    """Seconds before the access token expires; negative when it is expired or not valid at all."""
    try:
        claims = decode_user_token(secret_bytes(ctx, "jwt_secret"), access, expected="access")
    except InvalidTokenError:
        return -1.0
    return claims.expires_at.timestamp() - time.time()


async def _renewed(ctx: ServiceContext, session: Session) -> Session | None:
    """A session with a fresh token pair, or None when the refresh token is no longer accepted."""
    cache = ctx.require_cache()
    key = "console:renewal:" + hashlib.sha256(session.refresh.encode()).hexdigest()
    shared = await cache.get_json(key)
    if isinstance(shared, dict) and {"access_token", "refresh_token"} <= set(shared):
        return replace(session, access=str(shared["access_token"]), refresh=str(shared["refresh_token"]))
    url = ctx.settings.user_management_url + "/api/v1/auth/refresh"
    try:
        response = await people_http(ctx).post(url, json={"refresh_token": session.refresh})
    except httpx.HTTPError as error:
        log.warning("session_renewal_unreachable", error=type(error).__name__)
        return None
    if response.status_code != 200:
        return None
    pair = response.json()
    await cache.set_json(key, pair, ttl_seconds=RENEWAL_SHARE_SECONDS)
    return replace(session, access=str(pair["access_token"]), refresh=str(pair["refresh_token"]))


def people_http(ctx: ServiceContext) -> httpx.AsyncClient:
    """The client that calls services as the signed-in person: no service token, only the person's own bearer."""
    client = ctx.extras.get("people_http")
    if not isinstance(client, httpx.AsyncClient):
        raise RuntimeError("console: the people's HTTP client exists only while the app runs")
    return client


async def current_session(request: Request, ctx: ServiceContext) -> Session | None:
    """The request's valid session (renewed if its access token is about to expire), or None."""
    if hasattr(request.state, "session"):
        cached: Session | None = request.state.session
        return cached
    session = codec_of(ctx).loads(request.cookies.get(SESSION_COOKIE))
    if session is not None and _seconds_left(ctx, session.access) < RENEW_BEFORE_SECONDS:
        renewed = await _renewed(ctx, session)
        set_session_cookie(request, ctx, renewed)  # a refused renewal deletes the cookie
        session = renewed
    request.state.session = session
    return session


async def signed_in(request: Request, ctx: ServiceContext = Depends(context_of)) -> Person:
    session = await current_session(request, ctx)
    if session is None:
        raise SignInRequired()
    return Person(session)


async def operator_signed_in(person: Person = Depends(signed_in)) -> Person:
    if not person.is_operator:
        raise OperatorRequired()
    return person


async def csrf_checked(request: Request) -> None:
    """Unsafe methods must carry the CSRF token of this browser (form field or header)."""
    if request.method not in UNSAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not csrf_matches(getattr(request.state, "csrf", None), sent):
        log.warning("csrf_rejected", path=request.url.path, method=request.method, sent=sent is not None)
        raise CsrfRejected()


mark(signed_in, AccessRule("user", "a signed-in person (session cookie); services called with their own token"))
mark(operator_signed_in, AccessRule("operator", "a signed-in person with the operator role (session cookie)"))

SignedIn = Depends(signed_in)
OperatorSignedIn = Depends(operator_signed_in)
CsrfChecked = Depends(csrf_checked)
