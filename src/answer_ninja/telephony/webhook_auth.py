"""How each carrier proves a webhook is its own, without I/O: Twilio's signature (the SDK's RequestValidator, in
twilio_voice), an Azure shared secret or Entra ID JWT (PyJWT), and the generic webhook's HMAC-SHA256 of the body.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

import jwt

# The generic JSON webhook: ``X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the raw body>``.
WEBHOOK_SIGNATURE_HEADER = "X-Webhook-Signature"
WEBHOOK_SIGNATURE_PREFIX = "sha256="
# ACS / Event Grid: the shared secret in this header, or in the URL's ``?secret=`` (Event Grid's documented way).
ACS_SECRET_HEADER = "X-Acs-Webhook-Secret"
ACS_SECRET_QUERY = "secret"
# Entra ID tokens are RS256; nothing else is accepted (never "none", never HS256 with a public key).
ACS_JWT_ALGORITHMS = ["RS256"]


class WebhookAuthError(ValueError):
    """The webhook's credential is missing or wrong; the message says which (never the credential)."""


def sign_body(secret: str, body: bytes) -> str:
    """The generic webhook's signature header value for ``body``."""
    return WEBHOOK_SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_body_signature(secret: str, body: bytes, signature: str | None) -> None:
    if not signature:
        raise WebhookAuthError(f"{WEBHOOK_SIGNATURE_HEADER}: missing")
    if not hmac.compare_digest(signature.strip().encode(), sign_body(secret, body).encode()):
        raise WebhookAuthError(f"{WEBHOOK_SIGNATURE_HEADER}: invalid")


def check_shared_secret(expected: str, presented: str | None) -> None:
    if not presented:
        raise WebhookAuthError(f"{ACS_SECRET_HEADER} or ?{ACS_SECRET_QUERY}=: missing")
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise WebhookAuthError(f"{ACS_SECRET_HEADER}: invalid")


def check_entra_jwt(token: str, key: Any, *, audience: str, issuer: str | None) -> Mapping[str, Any]:
    """An Entra ID bearer token for our application: RS256, signed by ``key``, for ``audience`` (and ``issuer``)."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=ACS_JWT_ALGORITHMS,
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "aud"] + (["iss"] if issuer else [])},
        )
    except jwt.PyJWTError as error:
        raise WebhookAuthError(f"Authorization: {type(error).__name__}") from None
    return claims
