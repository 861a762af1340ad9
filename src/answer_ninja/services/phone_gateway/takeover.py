"""A person steps into one of their own live calls: "Take the call" (transferred mid-call to their real number) or
"Hang up now". Only the call's owner may (another person's call answers 404, as if it did not exist), only while
the AI is on it (409 otherwise), and the record says what happened (``details.takeover`` / ``details.hangup``).

The carrier moves the call (``telephony/call_control.py``); realtime-processor is told the outcome so the record
reads "taken_over" / "hung_up_by_user", and closes the stream when the carrier does not (the loopback carrier).
The loopback carrier fetches the update from ``/loopback/calls/{carrier_call_id}/update`` once its stream closes,
as Twilio runs an updated call's TwiML; that door only opens on loopback, with no Twilio account configured.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response

from answer_ninja.platform.app_factory import ServiceContext, context_of
from answer_ninja.platform.auth.dependencies import UserId, public
from answer_ninja.platform.db.models import CallRecord
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.phone_gateway import flows, service
from answer_ninja.telephony.acs_events import AcsCallControl
from answer_ninja.telephony.call_control import (
    AcsTransfer,
    CallControl,
    LiveCall,
    LoopbackCallControl,
    TwilioCallControl,
)

log = get_logger(__name__)
router = APIRouter()
Ctx = Depends(context_of)
CallId = Path(pattern=r"^[A-Za-z0-9_\-]{1,64}$")
FINAL = frozenset({"completed", "ended", "rejected", "failed", "busy", "no-answer", "canceled"})
LOOPBACK_UPDATE = [
    Depends(public("the loopback carrier's pending call update: loopback clients only, no Twilio account configured"))
]
TWIML = "application/xml"


def twilio_configured(ctx: ServiceContext) -> bool:
    token = ctx.settings.twilio_auth_token
    return bool(ctx.settings.twilio_account_sid) and token is not None and bool(token.get_secret_value())


def control_for(ctx: ServiceContext, record: CallRecord) -> CallControl:
    settings = ctx.settings
    gateway = settings.gateway_public_url or ""
    if record.carrier == "acs":
        acs = ctx.extras.get("acs_control")
        if not isinstance(acs, AcsCallControl):
            raise HTTPException(status_code=409, detail="call_id: ACS is not configured here")
        return AcsTransfer(acs._client)  # the one SDK client of this process (it keeps an HTTP session)
    if record.carrier == "twilio" and twilio_configured(ctx):
        control = ctx.extras.get("twilio_rest")
        if not isinstance(control, TwilioCallControl):
            token = settings.twilio_auth_token
            control = TwilioCallControl(
                str(settings.twilio_account_sid),
                token.get_secret_value() if token is not None else "",
                gateway_url=gateway,
                api_base_url=settings.twilio_api_base_url,
            )
            ctx.extras["twilio_rest"] = control
        return control
    return LoopbackCallControl()


async def _owned_live_call(ctx: ServiceContext, user_id: str, call_id: str) -> CallRecord:
    async with ctx.require_database().session() as session:
        record = await session.get(CallRecord, call_id)
    if record is None or record.user_id != user_id:
        raise HTTPException(status_code=404, detail="call_id: no such call")
    if record.decision != "ai" or record.status in FINAL or record.ended_at is not None:
        raise HTTPException(status_code=409, detail="call_id: the AI is not on this call any more")
    return record


def _live_call(record: CallRecord) -> LiveCall:
    connection = (record.details or {}).get("acs")
    return LiveCall(
        call_id=record.id,
        carrier=record.carrier,
        carrier_call_id=record.carrier_call_id,
        dialled=record.dialled_number,
        acs_connection_id=connection if isinstance(connection, str) else None,
    )


async def _end_stream(ctx: ServiceContext, call_id: str, outcome: str, *, hang_up: bool) -> bool:
    """Tell realtime-processor the outcome (and to close the stream); False when no live session was there."""
    url = f"{ctx.settings.realtime_processor_url}/internal/v1/calls/{call_id}/end"
    try:
        response = await ctx.require_http().post(url, json={"outcome": outcome, "hang_up": hang_up})
    except Exception as error:  # the carrier has moved the call already; the record still says who ended it
        log.warning("end_stream_failed", call_id=call_id, error=type(error).__name__)
        return False
    return response.status_code == 204


async def _record(ctx: ServiceContext, call_id: str, key: str, value: dict[str, Any]) -> None:
    async with ctx.require_database().session() as session:
        record = await session.get(CallRecord, call_id)
        if record is not None:
            record.details = {**(record.details or {}), key: value}
            await session.commit()


async def _real_number(ctx: ServiceContext, record: CallRecord) -> str:
    lookup = await flows.directory_of(ctx).lookup(dialled=record.dialled_number, caller_hash=None)
    number = lookup.user.real_number if lookup.user is not None else None
    if not number:
        raise HTTPException(status_code=409, detail="real_number: set your real number before taking calls")
    return number


@router.post("/api/v1/calls/{call_id}/takeover", status_code=202, tags=["calls"])
async def take_over(call_id: str = CallId, user_id: str = UserId, ctx: ServiceContext = Ctx) -> dict[str, Any]:
    """Transfer the owner's live call to their real number, now."""
    record = await _owned_live_call(ctx, user_id, call_id)
    number = await _real_number(ctx, record)
    control = control_for(ctx, record)
    call = _live_call(record)
    try:
        result = await control.transfer(call, number)
    except HTTPException:
        raise
    except Exception as error:  # the carrier refused: the AI stays on the call, the person is told
        log.error("takeover_failed", call_id=call_id, carrier=record.carrier, error_type=type(error).__name__)
        detail = f"call_id: the carrier refused the transfer ({type(error).__name__})"
        raise HTTPException(status_code=502, detail=detail) from None
    at = datetime.now(UTC).isoformat()
    await _record(ctx, call_id, "takeover", {"to": number, "at": at, **result})
    ended = await _end_stream(ctx, call_id, "taken_over", hang_up=not control.closes_stream)
    log.info("call_taken_over", call_id=call_id, carrier=result.get("carrier"), stream_ended=ended)
    return {"call_id": call_id, "status": "transferring", "carrier": result.get("carrier")}


@router.post("/api/v1/calls/{call_id}/hangup", status_code=202, tags=["calls"])
async def hang_up(call_id: str = CallId, user_id: str = UserId, ctx: ServiceContext = Ctx) -> dict[str, Any]:
    """End the owner's live call now."""
    record = await _owned_live_call(ctx, user_id, call_id)
    control = control_for(ctx, record)
    try:
        result = await control.hang_up(_live_call(record))
    except Exception as error:  # the carrier may have ended it already: the stream is closed below either way
        log.warning("hangup_carrier_failed", call_id=call_id, error_type=type(error).__name__)
        result = {"carrier": record.carrier, "error": type(error).__name__}
    await _record(ctx, call_id, "hangup", {"at": datetime.now(UTC).isoformat(), **result})
    await _end_stream(ctx, call_id, "hung_up_by_user", hang_up=True)
    return {"call_id": call_id, "status": "ending"}


def _loopback_client(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in ("localhost", "testclient")


@router.get(
    "/loopback/calls/{carrier_call_id}/update",
    tags=["loopback"],
    response_class=Response,
    dependencies=LOOPBACK_UPDATE,
)
async def loopback_update(
    request: Request, carrier_call_id: str = Path(pattern=r"^[A-Za-z0-9_\-]{1,128}$"), ctx: ServiceContext = Ctx
) -> Response:
    """The TwiML a taken-over or hung-up loopback call runs next (once); 204 when there is none."""
    if twilio_configured(ctx) or not _loopback_client(request):
        raise HTTPException(status_code=404, detail="carrier_call_id: no such loopback call")
    async with ctx.require_database().session() as session:
        record = await service.find_by_carrier_id(session, carrier="twilio", carrier_call_id=carrier_call_id)
        if record is None:
            raise HTTPException(status_code=404, detail="carrier_call_id: no such loopback call")
        details = dict(record.details or {})
        for key in ("takeover", "hangup"):
            update = details.get(key)
            if isinstance(update, dict) and update.get("twiml") and not update.get("fetched"):
                details[key] = {**update, "fetched": True}
                record.details = details
                await session.commit()
                return Response(content=str(update["twiml"]), media_type=TWIML)
    return Response(status_code=204)
