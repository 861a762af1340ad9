"""The browser session: the person's own token pair in a signed, HttpOnly cookie, and the CSRF token.

Why a cookie and not a server-side session store: the console owns no data and may run as several replicas; the
tokens are the person's own credentials (user-management signs them, every service verifies them), so the cookie
only needs integrity (itsdangerous signature, key derived from INTERNAL_SECRET) and to be unreadable by scripts
(HttpOnly) and unsent by other sites (SameSite). Revocation stays where it is: user-management's logout revokes the
tokens, and every service refuses a revoked one.

CSRF: a double-submit token. ``an_csrf`` is a signed random value in its own cookie; every form carries it in
``csrf_token`` and htmx sends it as ``X-CSRF-Token``. Another site can neither read the cookie nor forge the
signature, so it cannot make a request that carries both.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from itsdangerous import BadSignature, Signer, URLSafeTimedSerializer

from answer_ninja.platform.auth.tokens import derived_key

SESSION_COOKIE = "an_session"
CSRF_COOKIE = "an_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LANGUAGE_COOKIE = "an_lang"
# The CSRF cookie outlives sessions (a sign-in form may stay open for a while); a new one is set at every sign-in.
CSRF_MAX_AGE_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Session:
    """What the console remembers about a signed-in browser (all of it the person's own)."""

    access: str
    refresh: str
    user_id: str
    role: str
    email: str
    language: str

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"


class SessionCodec:
    """Signs and reads the session and CSRF cookies with keys derived from one server secret."""

    def __init__(self, secret: bytes, *, max_age_seconds: float) -> None:
        self.max_age_seconds = max_age_seconds
        self._sessions = URLSafeTimedSerializer(derived_key(secret, "console-session"), salt="an-session")
        self._csrf = Signer(derived_key(secret, "console-csrf"), salt="an-csrf")

    def dumps(self, session: Session) -> str:
        return str(self._sessions.dumps(asdict(session)))

    def loads(self, value: str | None) -> Session | None:
        """The session in a cookie, or None when absent, forged, expired or malformed."""
        if not value:
            return None
        try:
            raw: Any = self._sessions.loads(value, max_age=int(self.max_age_seconds))
        except BadSignature:
            return None
        try:
            return Session(**{name: str(raw[name]) for name in Session.__dataclass_fields__})
        except (KeyError, TypeError):
            return None

    def new_csrf(self) -> tuple[str, str]:
        """A fresh CSRF token and its signed cookie value."""
        token = secrets.token_urlsafe(24)
        return token, self._csrf.sign(token).decode()

    def csrf_from_cookie(self, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return self._csrf.unsign(value).decode()
        except BadSignature:
            return None


def csrf_matches(expected: str | None, sent: str | None) -> bool:
    return bool(expected) and bool(sent) and hmac.compare_digest(str(expected), str(sent))
