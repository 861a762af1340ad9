"""The calling side of service-to-service authentication: an httpx ``Auth`` that adds this service's token to
requests addressed to another service of the system (by its configured URL), and to nothing else: an LLM, Slack
or a carrier never sees an internal credential."""

from __future__ import annotations

from collections.abc import Generator
from urllib.parse import urlsplit

import httpx

from answer_ninja.catalogue import SERVICES
from answer_ninja.platform.auth.tokens import ServiceTokenIssuer
from answer_ninja.platform.settings import Settings

SERVICE_TOKEN_HEADER = "X-Service-Token"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(parts.scheme)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return scheme, (parts.hostname or "").lower(), port


def service_origins(settings: Settings) -> dict[tuple[str, str, int | None], str]:
    """Which service answers at each configured origin (scheme, host, port)."""
    return {_origin(settings.service_url(name)): name for name in SERVICES}


class ServiceAuth(httpx.Auth):
    """Adds ``X-Service-Token`` for the service a request goes to; other requests pass untouched."""

    def __init__(self, settings: Settings, issuer: ServiceTokenIssuer) -> None:
        self.issuer = issuer
        self.origins = service_origins(settings)

    def audience_of(self, url: str) -> str | None:
        return self.origins.get(_origin(url))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        audience = self.audience_of(str(request.url))
        if audience is not None and SERVICE_TOKEN_HEADER not in request.headers:
            request.headers[SERVICE_TOKEN_HEADER] = self.issuer.token_for(audience)
        yield request


def service_auth(settings: Settings, issuer: str) -> ServiceAuth | None:
    """Authentication for a client outside a service app (the responder's checks): None when INTERNAL_SECRET is
    unset, so the calls go out without a credential and are refused, visibly."""
    if settings.internal_secret is None or not settings.internal_secret.get_secret_value():
        return None
    return ServiceAuth(settings, ServiceTokenIssuer(settings.internal_secret.get_secret_value().encode(), issuer))
