"""Carrier webhook credentials as FastAPI dependencies: default deny per carrier, the dev switch only on loopback,
each carrier's own check (no database: a tiny app with only the dependency)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI

from answer_ninja.platform.app_factory import ServiceContext
from answer_ninja.platform.settings import load_settings
from answer_ninja.services.phone_gateway import carrier_auth
from answer_ninja.services.phone_gateway.app import SPEC
from answer_ninja.telephony import twilio_voice, webhook_auth
from tests.harness.credentials import SECRETS, operator_headers, service_headers

TWILIO_TOKEN = "twilio-token-for-unit-tests"
ACS_SECRET = "acs-secret-for-unit-tests"
HOOK_SECRET = "hook-secret-for-unit-tests"
LOOPBACK, REMOTE = ("127.0.0.1", 40000), ("203.0.113.7", 40000)


def gateway(**settings: Any) -> FastAPI:
    app = FastAPI()
    app.state.ctx = ServiceContext(spec=SPEC, settings=load_settings(**SECRETS, **settings))

    @app.post("/twilio/voice")
    async def voice(form: dict[str, str] = Depends(carrier_auth.twilio_form)) -> dict[str, str]:
        return form

    @app.post("/webhook/azure-events", dependencies=[Depends(carrier_auth.acs_authenticated)])
    async def acs() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/webhook/incoming-call")
    async def generic(who: str = Depends(carrier_auth.generic_webhook_caller)) -> dict[str, str]:
        return {"who": who}

    return app


def post(app: FastAPI, path: str, *, client: tuple[str, int] = REMOTE, **kwargs: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            return await http.post(path, **kwargs)

    return asyncio.run(run())


FORM = {"CallSid": "CA1", "From": "+8613800138000", "To": "+8610012345678"}
EVENTS = [{"eventType": "Microsoft.EventGrid.SubscriptionValidationEvent", "data": {"validationCode": "v"}}]


def test_every_carrier_is_refused_when_not_configured() -> None:
    app = gateway()
    assert carrier_auth.carrier_states(app.state.ctx.settings) == {
        "twilio": "not configured",
        "acs": "not configured",
        "webhook": "not configured",
    }
    voice = post(app, "/twilio/voice", data=FORM, client=LOOPBACK)
    assert (voice.status_code, voice.json()["detail"]) == (403, "twilio is not configured")
    acs = post(app, "/webhook/azure-events", json=EVENTS, client=LOOPBACK)
    assert (acs.status_code, acs.json()["detail"]) == (403, "acs is not configured")
    generic = post(app, "/webhook/incoming-call", json={}, client=LOOPBACK)
    assert generic.status_code == 403
    assert "not configured" in generic.json()["detail"]


def test_the_dev_switch_opens_unconfigured_carriers_to_loopback_only(caplog: pytest.LogCaptureFixture) -> None:
    app = gateway(carrier_loopback_dev=True, twilio_auth_token=TWILIO_TOKEN)
    states = carrier_auth.carrier_states(app.state.ctx.settings)
    assert states["twilio"] == "configured"
    assert states["acs"].startswith("dev loopback")
    assert post(app, "/webhook/azure-events", json=EVENTS, client=LOOPBACK).status_code == 200
    assert post(app, "/webhook/incoming-call", json={}, client=LOOPBACK).json() == {"who": "dev-loopback"}
    assert post(app, "/webhook/azure-events", json=EVENTS, client=REMOTE).status_code == 403
    # A configured carrier is never opened by the switch: Twilio still needs its signature, even on loopback.
    assert post(app, "/twilio/voice", data=FORM, client=LOOPBACK).status_code == 403


def test_twilio_signature_on_the_url_twilio_signed() -> None:
    app = gateway(twilio_auth_token=TWILIO_TOKEN)
    url = "http://gateway.test/twilio/voice"
    signed = post(
        app, "/twilio/voice", data=FORM, headers={"X-Twilio-Signature": twilio_voice.sign(TWILIO_TOKEN, url, FORM)}
    )
    assert signed.status_code == 200
    assert signed.json() == FORM
    missing = post(app, "/twilio/voice", data=FORM)
    assert (missing.status_code, missing.json()["detail"]) == (403, "X-Twilio-Signature: missing")
    tampered = {**FORM, "To": "+8610099999999"}
    wrong = post(
        app, "/twilio/voice", data=tampered, headers={"X-Twilio-Signature": twilio_voice.sign(TWILIO_TOKEN, url, FORM)}
    )
    assert (wrong.status_code, wrong.json()["detail"]) == (403, "X-Twilio-Signature: invalid")
    # Behind a proxy Twilio signs the public URL: GATEWAY_PUBLIC_URL says which.
    public = gateway(twilio_auth_token=TWILIO_TOKEN, gateway_public_url="https://calls.example.com")
    header = {"X-Twilio-Signature": twilio_voice.sign(TWILIO_TOKEN, "https://calls.example.com/twilio/voice", FORM)}
    assert post(public, "/twilio/voice", data=FORM, headers=header).status_code == 200


def test_acs_shared_secret_in_header_or_query() -> None:
    app = gateway(acs_webhook_secret=ACS_SECRET)
    assert post(app, "/webhook/azure-events", json=EVENTS).status_code == 403
    assert (
        post(app, "/webhook/azure-events", json=EVENTS, headers={webhook_auth.ACS_SECRET_HEADER: "guess"}).status_code
        == 403
    )
    assert (
        post(
            app, "/webhook/azure-events", json=EVENTS, headers={webhook_auth.ACS_SECRET_HEADER: ACS_SECRET}
        ).status_code
        == 200
    )
    assert post(app, f"/webhook/azure-events?secret={ACS_SECRET}", json=EVENTS).status_code == 200


def test_acs_entra_id_jwt_with_the_configured_key() -> None:
    rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
    import jwt

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    app = gateway(acs_jwt_audience="api://answer-ninja", acs_jwt_public_key=public)
    assert carrier_auth.carrier_states(app.state.ctx.settings)["acs"] == "configured"
    token = jwt.encode({"aud": "api://answer-ninja", "exp": 4102444800}, key, algorithm="RS256")
    assert (
        post(app, "/webhook/azure-events", json=EVENTS, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    other = jwt.encode({"aud": "api://someone-else", "exp": 4102444800}, key, algorithm="RS256")
    assert (
        post(app, "/webhook/azure-events", json=EVENTS, headers={"Authorization": f"Bearer {other}"}).status_code == 403
    )
    assert post(app, "/webhook/azure-events", json=EVENTS).status_code == 403


def test_generic_webhook_takes_a_body_signature_or_the_responder_or_the_operator() -> None:
    app = gateway(carrier_webhook_secret=HOOK_SECRET)
    body = json.dumps({"from": "+8613800138000", "to": "+8610012345678"}).encode()
    signed = {webhook_auth.WEBHOOK_SIGNATURE_HEADER: webhook_auth.sign_body(HOOK_SECRET, body)}
    assert post(app, "/webhook/incoming-call", content=body, headers=signed).json() == {"who": "carrier"}
    assert post(app, "/webhook/incoming-call", content=body + b" ", headers=signed).status_code == 403
    assert post(app, "/webhook/incoming-call", content=body).status_code == 403
    responder = service_headers("responder", "phone-gateway")
    assert post(app, "/webhook/incoming-call", content=body, headers=responder).json() == {"who": "responder"}
    other_service = service_headers("console", "phone-gateway")
    assert post(app, "/webhook/incoming-call", content=body, headers=other_service).status_code == 403
    assert post(app, "/webhook/incoming-call", content=body, headers=operator_headers()).json() == {
        "who": "operator-token"
    }
