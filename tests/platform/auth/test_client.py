"""The calling side: a service's HTTP client signs requests to the other services and to nothing else."""

from __future__ import annotations

import httpx

from answer_ninja.platform.auth.client import SERVICE_TOKEN_HEADER, ServiceAuth, service_auth
from answer_ninja.platform.auth.tokens import ServiceTokenIssuer, ServiceTokenVerifier
from answer_ninja.platform.settings import load_settings
from tests.harness.credentials import INTERNAL_SECRET, SECRETS


def _sent(auth: httpx.Auth, url: str) -> httpx.Request:
    request = httpx.Request("GET", url)
    return next(auth.auth_flow(request))


def test_requests_to_a_service_carry_a_token_for_that_service() -> None:
    settings = load_settings(user_management_url="http://10.0.0.5:3005", **SECRETS)
    auth = ServiceAuth(settings, ServiceTokenIssuer(INTERNAL_SECRET.encode(), "phone-gateway"))
    token = _sent(auth, "http://10.0.0.5:3005/internal/v1/routing/%2B1").headers[SERVICE_TOKEN_HEADER]
    assert ServiceTokenVerifier(INTERNAL_SECRET.encode(), "user-management").verify(token) == "phone-gateway"


def test_requests_elsewhere_carry_nothing() -> None:
    settings = load_settings(**SECRETS)
    auth = ServiceAuth(settings, ServiceTokenIssuer(INTERNAL_SECRET.encode(), "conversation-engine"))
    for url in ("http://127.0.0.1:8080/v1/chat/completions", "https://hooks.slack.example/x", "http://127.0.0.1:3999/"):
        assert SERVICE_TOKEN_HEADER not in _sent(auth, url).headers


def test_no_internal_secret_no_client_auth() -> None:
    assert service_auth(load_settings(internal_secret=None), "responder") is None
    assert service_auth(load_settings(**SECRETS), "responder") is not None
