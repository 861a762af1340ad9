"""Credentials the tests use: fixed secrets for in-process apps, and the headers each kind of caller sends."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import httpx

from answer_ninja.platform.auth.stream_tokens import issue_stream_token, stream_key
from answer_ninja.platform.auth.tokens import ServiceTokenIssuer

INTERNAL_SECRET = "test-internal-secret-0123456789abcdef"
OPERATOR_TOKEN = "test-operator-token-0123456789abcdef"
JWT_SECRET = "test-jwt-secret-that-is-long-enough-0123456789"
PROFILE_HASH_SECRET = "test-profile-hash-secret-0123456789"
SUPERVISOR_TOKEN = "test-supervisor-token-0123456789abcdef"
ALERTMANAGER_TOKEN = "test-alertmanager-token-0123456789abcdef"
CARRIER_WEBHOOK_SECRET = "test-carrier-webhook-secret-0123456789"

# Settings overrides that configure every secret (so nothing is degraded for want of one).
SECRETS: dict[str, Any] = {
    "internal_secret": INTERNAL_SECRET,
    "operator_token": OPERATOR_TOKEN,
    "jwt_secret": JWT_SECRET,
    "profile_hash_secret": PROFILE_HASH_SECRET,
    "supervisor_token": SUPERVISOR_TOKEN,
    "alertmanager_token": ALERTMANAGER_TOKEN,
}


def service_headers(issuer: str, audience: str, *, secret: str = INTERNAL_SECRET) -> dict[str, str]:
    """What service ``issuer`` sends when it calls ``audience``."""
    return {"X-Service-Token": ServiceTokenIssuer(secret.encode(), issuer).token_for(audience)}


def operator_headers(token: str = OPERATOR_TOKEN) -> dict[str, str]:
    """What the operator's machine (answer-ninja commands) sends."""
    return {"Authorization": f"Bearer {token}"}


def supervisor_headers(token: str = SUPERVISOR_TOKEN) -> dict[str, str]:
    """What answer-ninja commands and the responder send to the supervisor's control API."""
    return {"Authorization": f"Bearer {token}"}


def alertmanager_headers(token: str = ALERTMANAGER_TOKEN) -> dict[str, str]:
    """What Alertmanager sends to the responder's /alerts (http_config.authorization)."""
    return {"Authorization": f"Bearer {token}"}


class WebhookSigner(httpx.Auth):
    """Signs each request's body as a carrier posting the generic webhook does (X-Webhook-Signature)."""

    def __init__(self, secret: str = CARRIER_WEBHOOK_SECRET) -> None:
        self.secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        from answer_ninja.telephony.webhook_auth import WEBHOOK_SIGNATURE_HEADER, sign_body

        request.headers[WEBHOOK_SIGNATURE_HEADER] = sign_body(self.secret, request.content)
        yield request


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def stream_token(
    call_id: str,
    *,
    user_id: str | None = None,
    language: str = "",
    persona: str = "polite",
    max_call_seconds: float = 180.0,
    carrier: str = "twilio",
    secret: str = INTERNAL_SECRET,
    now: float | None = None,
) -> str:
    """A media stream token as phone-gateway mints it (for tests that play the carrier without the gateway)."""
    return issue_stream_token(
        stream_key(secret.encode()),
        call_id=call_id,
        user_id=user_id,
        language=language,
        persona=persona,
        max_call_seconds=max_call_seconds,
        carrier=carrier,
        now=now,
    )
