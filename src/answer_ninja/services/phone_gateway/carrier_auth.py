"""Who may post carrier webhooks: default deny per carrier, each checked by its own credential.

- Twilio (every /twilio/* route): ``X-Twilio-Signature`` with TWILIO_AUTH_TOKEN (the SDK's RequestValidator).
- ACS (/webhook/azure-events, /acs/callbacks): ACS_WEBHOOK_SECRET (header or ``?secret=``) or an Entra ID JWT.
- The generic /webhook/incoming-call: a carrier's HMAC-SHA256 of the body (CARRIER_WEBHOOK_SECRET), or a
  service (the responder's probe) or the operator with their own tokens.

A carrier whose credential is unset is "not configured": its webhooks answer 403 saying so, and /health and
/ready show it. CARRIER_LOOPBACK_DEV=true opens such a carrier to loopback clients only, with a warning per use.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal
from urllib.parse import parse_qsl

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from answer_ninja.platform.app_factory import ServiceContext, context_of
from answer_ninja.platform.auth.dependencies import caller
from answer_ninja.platform.auth.rules import AccessRule, mark
from answer_ninja.platform.logging import get_logger
from answer_ninja.platform.settings import Settings
from answer_ninja.telephony import twilio_voice, webhook_auth

log = get_logger(__name__)

Carrier = Literal["twilio", "acs", "webhook"]
NOT_CONFIGURED = "not configured"
LOOPBACK_CLIENTS = frozenset({"127.0.0.1", "::1", "localhost"})

_bearer = HTTPBearer(auto_error=False, description="ACS: an Entra ID token; generic webhook: a service/operator")
_webhook_signature = APIKeyHeader(
    name=webhook_auth.WEBHOOK_SIGNATURE_HEADER, auto_error=False, description="HMAC-SHA256 of the body"
)
_acs_secret = APIKeyHeader(name=webhook_auth.ACS_SECRET_HEADER, auto_error=False, description="ACS shared secret")


def _secret(value: Any) -> str | None:
    return value.get_secret_value() or None if value is not None else None


def acs_jwt_configured(settings: Settings) -> bool:
    return bool(settings.acs_jwt_audience and (settings.acs_jwt_public_key or settings.acs_jwt_jwks_url))


def carrier_states(settings: Settings) -> dict[str, str]:
    """Each carrier's webhook credential: "configured", "not configured" or "dev loopback" (the dev switch)."""
    configured = {
        "twilio": _secret(settings.twilio_auth_token) is not None,
        "acs": _secret(settings.acs_webhook_secret) is not None or acs_jwt_configured(settings),
        "webhook": _secret(settings.carrier_webhook_secret) is not None,
    }
    unset = "dev loopback (CARRIER_LOOPBACK_DEV)" if settings.carrier_loopback_dev else NOT_CONFIGURED
    return {name: "configured" if ok else unset for name, ok in configured.items()}


def _refuse(status: int, message: str, *, carrier: Carrier, request: Request) -> HTTPException:
    log.warning("carrier_webhook_refused", carrier=carrier, path=request.url.path, reason=message)
    return HTTPException(status_code=status, detail=message)


def _dev_open(ctx: ServiceContext, request: Request, carrier: Carrier) -> bool:
    """The dev switch: an unconfigured carrier, from a loopback client, when CARRIER_LOOPBACK_DEV is on."""
    client = request.client.host if request.client is not None else ""
    if ctx.settings.carrier_loopback_dev and client in LOOPBACK_CLIENTS:
        log.warning("carrier_dev_open", carrier=carrier, path=request.url.path, client=client)
        return True
    return False


def _not_configured(ctx: ServiceContext, request: Request, carrier: Carrier, name: str) -> None:
    if not _dev_open(ctx, request, carrier):
        raise _refuse(403, f"{name} is not configured", carrier=carrier, request=request)


# --- Twilio ---------------------------------------------------------------------------------------------------


def signed_url(settings: Settings, request: Request) -> str:
    """The URL Twilio signed: the public one when the gateway sits behind a proxy (GATEWAY_PUBLIC_URL)."""
    if settings.gateway_public_url:
        query = f"?{request.url.query}" if request.url.query else ""
        return f"{settings.gateway_public_url.rstrip('/')}{request.url.path}{query}"
    return str(request.url)


async def twilio_form(request: Request, ctx: ServiceContext = Depends(context_of)) -> dict[str, str]:
    """The webhook's form fields, once X-Twilio-Signature is checked (403 when absent, wrong or not configured)."""
    raw = (await request.body()).decode("utf-8", errors="replace")
    form = dict(parse_qsl(raw, keep_blank_values=True))
    token = _secret(ctx.settings.twilio_auth_token)
    if token is None:
        _not_configured(ctx, request, "twilio", "twilio")
        return form
    signature = request.headers.get(twilio_voice.SIGNATURE_HEADER)
    if not twilio_voice.signature_is_valid(token, signed_url(ctx.settings, request), form, signature):
        state = "invalid" if signature else "missing"
        raise _refuse(403, f"{twilio_voice.SIGNATURE_HEADER}: {state}", carrier="twilio", request=request)
    return form


mark(twilio_form, AccessRule("carrier", "Twilio: X-Twilio-Signature keyed by TWILIO_AUTH_TOKEN"))


# --- ACS / Event Grid -----------------------------------------------------------------------------------------


async def _jwt_key(ctx: ServiceContext, token: str) -> Any:
    settings = ctx.settings
    if settings.acs_jwt_public_key:
        return settings.acs_jwt_public_key
    client = ctx.extras.get("acs_jwks")
    if client is None:
        import jwt

        client = jwt.PyJWKClient(str(settings.acs_jwt_jwks_url), cache_keys=True, lifespan=3600)
        ctx.extras["acs_jwks"] = client
    # The key set is fetched (and cached for an hour) over the network: off the event loop.
    return (await asyncio.to_thread(client.get_signing_key_from_jwt, token)).key


async def acs_authenticated(
    request: Request,
    secret_header: str | None = Depends(_acs_secret),
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ctx: ServiceContext = Depends(context_of),
) -> None:
    """ACS_WEBHOOK_SECRET (header or ?secret=) or an Entra ID JWT; the Event Grid handshake is checked too."""
    settings = ctx.settings
    secret = _secret(settings.acs_webhook_secret)
    if secret is None and not acs_jwt_configured(settings):
        _not_configured(ctx, request, "acs", "acs")
        return
    try:
        if credentials is not None and acs_jwt_configured(settings):
            key = await _jwt_key(ctx, credentials.credentials)
            webhook_auth.check_entra_jwt(
                credentials.credentials, key, audience=str(settings.acs_jwt_audience), issuer=settings.acs_jwt_issuer
            )
            return
        if secret is None:
            raise webhook_auth.WebhookAuthError("Authorization: missing Entra ID bearer token")
        presented = secret_header or request.query_params.get(webhook_auth.ACS_SECRET_QUERY)
        webhook_auth.check_shared_secret(secret, presented)
    except webhook_auth.WebhookAuthError as error:
        raise _refuse(403, str(error), carrier="acs", request=request) from None
    except Exception as error:  # the key set could not be fetched: refuse, and say it is on our side
        log.error("acs_jwt_keys_unavailable", error_type=type(error).__name__)
        raise _refuse(503, "Authorization: signing keys unavailable", carrier="acs", request=request) from None


mark(acs_authenticated, AccessRule("carrier", "ACS/Event Grid: ACS_WEBHOOK_SECRET or an Entra ID JWT"))


# --- the generic JSON webhook ---------------------------------------------------------------------------------

_service_or_operator = caller(services=("responder",), operators=True)


async def generic_webhook_caller(
    request: Request,
    signature: str | None = Depends(_webhook_signature),
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ctx: ServiceContext = Depends(context_of),
) -> str:
    """A carrier's HMAC signature of the body, or the responder / the operator with their own credentials."""
    service_token = request.headers.get("X-Service-Token")
    if signature is None and (service_token or credentials is not None):
        principal = await _service_or_operator(token=service_token, credentials=credentials, ctx=ctx)
        return principal.name
    secret = _secret(ctx.settings.carrier_webhook_secret)
    if secret is None:
        _not_configured(ctx, request, "webhook", "the generic webhook (CARRIER_WEBHOOK_SECRET)")
        return "dev-loopback"
    try:
        webhook_auth.check_body_signature(secret, await request.body(), signature)
    except webhook_auth.WebhookAuthError as error:
        raise _refuse(403, str(error), carrier="webhook", request=request) from None
    return "carrier"


mark(
    generic_webhook_caller,
    AccessRule("carrier", "X-Webhook-Signature (HMAC-SHA256 of the body, CARRIER_WEBHOOK_SECRET); responder; operator"),
)
