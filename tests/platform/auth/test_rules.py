"""Default deny: every route declares who may use it, or the app is not built; each kind of caller is checked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import Depends, FastAPI

from answer_ninja.errors import ConfigurationError
from answer_ninja.platform.app_factory import ServiceContext, ServiceSpec, create_service_app
from answer_ninja.platform.auth.dependencies import Principal, UserId, caller, operator, public, service_caller
from answer_ninja.platform.auth.rules import access_map
from answer_ninja.platform.auth.tokens import issue_user_token
from answer_ninja.platform.settings import load_settings
from tests.harness.credentials import JWT_SECRET, SECRETS, bearer, operator_headers, service_headers

SPEC = ServiceSpec(name="user-management", port=3999, description="test")


def _configure(app: FastAPI, ctx: ServiceContext) -> None:
    @app.get("/open", dependencies=[Depends(public("test"))])
    async def open_door() -> str:
        return "open"

    @app.get("/mine")
    async def mine(user_id: str = UserId) -> str:
        return user_id

    @app.get("/internal", dependencies=[Depends(service_caller("phone-gateway"))])
    async def internal() -> str:
        return "internal"

    @app.get("/ops")
    async def ops(who: Principal = Depends(operator)) -> str:
        return who.name

    @app.get("/either")
    async def either(who: Principal = Depends(caller(services=("phone-gateway",), users=True))) -> str:
        return f"{who.kind}:{who.name}"


def _person(role: str = "user") -> dict[str, str]:
    token = issue_user_token(
        JWT_SECRET.encode(),
        user_id="u1",
        role=role,  # type: ignore[arg-type]
        token_type="access",
        now=datetime.now(UTC),
        lifetime=timedelta(minutes=5),
    )
    return bearer(token)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_service_app(SPEC, settings=load_settings(redis_url=None, **SECRETS), configure=_configure)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def test_a_route_without_a_rule_fails_the_build() -> None:
    def configure(app: FastAPI, ctx: ServiceContext) -> None:
        @app.get("/forgotten")
        async def forgotten() -> str:
            return "oops"

    with pytest.raises(ConfigurationError, match="GET /forgotten"):
        create_service_app(SPEC, settings=load_settings(), configure=configure)


def test_access_map_lists_every_door_with_its_rule() -> None:
    app = create_service_app(SPEC, settings=load_settings(**SECRETS), configure=_configure)
    doors = {door.path: [rule.kind for rule in door.rules] for door in access_map(app)}
    assert doors["/health"] == ["public"]
    assert doors["/mine"] == ["user"]
    assert doors["/internal"] == ["service"]
    assert doors["/ops"] == ["operator"]


async def test_people_need_a_valid_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/mine")).status_code == 401
    assert (await client.get("/mine", headers=bearer("garbage"))).status_code == 401
    assert (await client.get("/mine", headers=_person())).text == '"u1"'


async def test_services_need_a_token_from_an_allowed_caller_addressed_here(client: httpx.AsyncClient) -> None:
    assert (await client.get("/internal")).status_code == 401
    assert (await client.get("/internal", headers=_person())).status_code == 401  # a person is not a service
    allowed = service_headers("phone-gateway", "user-management")
    assert (await client.get("/internal", headers=allowed)).status_code == 200
    other_service = service_headers("realtime-processor", "user-management")
    assert (await client.get("/internal", headers=other_service)).status_code == 403
    wrong_audience = service_headers("phone-gateway", "profile-analytics")
    assert (await client.get("/internal", headers=wrong_audience)).status_code == 401
    forged = service_headers("phone-gateway", "user-management", secret="not-the-secret-0123456789")
    assert (await client.get("/internal", headers=forged)).status_code == 401


async def test_operators_are_people_with_the_role_or_the_operator_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/ops")).status_code == 401
    assert (await client.get("/ops", headers=_person("user"))).status_code == 403
    assert (await client.get("/ops", headers=_person("operator"))).text == '"u1"'
    assert (await client.get("/ops", headers=operator_headers())).text == '"operator-token"'
    assert (await client.get("/ops", headers=operator_headers("wrong"))).status_code == 401


async def test_either_a_service_or_a_person(client: httpx.AsyncClient) -> None:
    assert (await client.get("/either")).status_code == 401
    service = service_headers("phone-gateway", "user-management")
    assert (await client.get("/either", headers=service)).text == '"service:phone-gateway"'
    assert (await client.get("/either", headers=_person())).text == '"user:u1"'


async def test_without_internal_secret_service_calls_are_refused_and_health_says_so() -> None:
    settings = load_settings(redis_url=None, **{**SECRETS, "internal_secret": None})
    app = create_service_app(SPEC, settings=settings, configure=_configure)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            refused = await client.get("/internal", headers=service_headers("phone-gateway", "user-management"))
            assert refused.status_code == 401
            assert "not configured" in refused.json()["detail"]
            health = (await client.get("/health")).json()
            assert any("INTERNAL_SECRET" in reason for reason in health["degraded_reasons"])
