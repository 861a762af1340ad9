"""HTTP routes of phone-gateway: one per carrier wire format, plus the call record for the cluster inside."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Response
from fastapi.responses import JSONResponse

from answer_ninja.calls.routing import Decision, Reason, RoutingDecision
from answer_ninja.platform.app_factory import ServiceContext, context_of
from answer_ninja.platform.auth.dependencies import service_caller
from answer_ninja.platform.db.models import CallRecord
from answer_ninja.platform.logging import get_logger
from answer_ninja.services.phone_gateway import carrier_auth, fallback, flows
from answer_ninja.services.phone_gateway.models import CallRecordOut, CallStatusIn, DecisionOut, IncomingCallIn
from answer_ninja.services.user_management.errors import field_error
from answer_ninja.services.user_management.schemas import ID_PATTERN, id_path
from answer_ninja.telephony import acs_events, twilio_voice

log = get_logger(__name__)
router = APIRouter()
Ctx = Depends(context_of)
# Carrier webhooks: each carrier's own credential (carrier_auth); a carrier that is not configured is refused.
TwilioForm = Depends(carrier_auth.twilio_form)
ACS = [Depends(carrier_auth.acs_authenticated)]
GENERIC = [Depends(carrier_auth.generic_webhook_caller)]
TWIML = "application/xml"
# Twilio's CallStatus values (its status callback enumeration); anything else is refused with 422.
TWILIO_CALL_STATUSES = frozenset(
    {"queued", "initiated", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"}
)
# The longest a call can last is Twilio's own limit (4 h), plus slack for its rounding: any call, AI ones too, may
# end on the person's own phone (a transfer, or the fallback after the stream), so no shorter bound holds for all.
# A longer CallDuration is impossible and refused.
MAX_CALL_SECONDS = 4 * 3600
DURATION_SLACK_SECONDS = 120


def _form_body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """OpenAPI for a form-encoded body we parse ourselves (Twilio's webhooks)."""
    schema = {"type": "object", "properties": properties, "required": required}
    return {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": schema}}}}


_STRING = {"type": "string", "maxLength": 128}
VOICE_FORM = _form_body(
    {"CallSid": {**_STRING, "minLength": 1}, "From": _STRING, "To": {**_STRING, "minLength": 1}, "CallStatus": _STRING},
    ["CallSid", "To"],
)
STATUS_FORM = _form_body(
    {"CallSid": {**_STRING, "minLength": 1}, "CallStatus": {**_STRING, "minLength": 1}, "CallDuration": _STRING},
    ["CallSid", "CallStatus"],
)
DIAL_FORM = _form_body({"DialCallStatus": _STRING, "CallSid": _STRING}, [])


def _require(form: dict[str, str], *names: str) -> None:
    for name in names:
        if not form.get(name, "").strip():
            raise field_error(name, "Field required")


def _decision_out(ctx: ServiceContext, outcome: flows.CallOutcome, carrier_path: str) -> DecisionOut:
    return DecisionOut(
        call_id=outcome.call_id,
        decision=outcome.decision.decision.value,
        reason=outcome.decision.reason.value,
        latency_ms=round(outcome.latency_ms, 3),
        stream_url=flows.stream_url(ctx, carrier_path) if outcome.is_ai else None,
        transfer_to=outcome.decision.transfer_to,
        parameters=outcome.parameters,
    )


@router.post(
    "/webhook/incoming-call",
    response_model=DecisionOut,
    response_model_exclude_none=True,
    tags=["calls"],
    dependencies=GENERIC,
)
async def incoming_call(body: IncomingCallIn, ctx: ServiceContext = Ctx) -> DecisionOut:
    """The generic JSON webhook (and the loopback carrier of ``answer-ninja up``): decide and record a call."""
    outcome = await flows.handle_incoming_call(
        ctx, carrier=body.carrier, carrier_call_id=body.call_id, caller_raw=body.from_, dialled_raw=body.to
    )
    # Generic callers speak the Twilio Media Streams protocol to realtime-processor.
    return _decision_out(ctx, outcome, "twilio")


@router.post("/twilio/voice", tags=["twilio"], openapi_extra=VOICE_FORM, response_class=Response)
async def twilio_voice_webhook(form: dict[str, str] = TwilioForm, ctx: ServiceContext = Ctx) -> Response:
    """Twilio's voice webhook: answer with TwiML (Connect/Stream for AI, Dial to transfer, Reject)."""
    _require(form, "CallSid", "To")
    call = twilio_voice.parse_voice_webhook(form)
    outcome = await flows.handle_incoming_call(
        ctx, carrier="twilio", carrier_call_id=call.call_sid, caller_raw=call.caller, dialled_raw=call.dialled
    )
    decision = outcome.decision
    if decision.decision is Decision.AI:  # the stream, or the person's fallback when the AI cannot take it
        twiml = await fallback.twilio_ai_answer(ctx, outcome, outcome.user)
    elif decision.transfer_to is not None:
        twiml = twilio_voice.dial_twiml(
            decision.transfer_to, action_url=f"/twilio/dial-status?call_id={outcome.call_id}"
        )
    else:
        twiml = twilio_voice.reject_twiml()
    return Response(content=twiml, media_type=TWIML)


@router.post("/twilio/dial-status", tags=["twilio"], openapi_extra=DIAL_FORM, response_class=Response)
async def twilio_dial_status(
    form: dict[str, str] = TwilioForm, call_id: str = Query(pattern=ID_PATTERN), ctx: ServiceContext = Ctx
) -> Response:
    """Where a transfer ended: answered -> hang up when it is over; busy/no-answer/failed -> the AI takes it."""
    status = form.get("DialCallStatus", "failed")
    if status in ("completed", "answered"):
        await flows.update_status(ctx, call_id=call_id, status="completed", extra={"transfer": status})
        return Response(content=twilio_voice.hangup_twiml(), media_type=TWIML)
    log.info("transfer_failed", call_id=call_id, dial_status=status)
    parameters = await flows.fall_back_to_ai(ctx, call_id=call_id)
    outcome = flows.CallOutcome(call_id, RoutingDecision(Decision.AI, Reason.TRANSFER_FAILED), 0.0, parameters)
    return Response(content=await fallback.twilio_ai_answer(ctx, outcome, None), media_type=TWIML)


@router.post(
    "/twilio/status",
    status_code=204,
    tags=["twilio"],
    openapi_extra=STATUS_FORM,
    response_class=Response,
)
async def twilio_status(form: dict[str, str] = TwilioForm, ctx: ServiceContext = Ctx) -> Response:
    """Twilio's status callback: ringing, in-progress, completed (with CallDuration), busy, failed ...

    Only possible values are written: a status from Twilio's enumeration, a whole CallDuration no longer than
    the call could have lasted (422 naming the field otherwise); a CallSid we never answered is ignored.
    """
    _require(form, "CallSid", "CallStatus")
    status = form["CallStatus"].strip()
    if status not in TWILIO_CALL_STATUSES:
        raise field_error("CallStatus", f"not a Twilio call status (one of {', '.join(sorted(TWILIO_CALL_STATUSES))})")
    call_sid = flows.printable(form["CallSid"])[:128]
    record = await flows.find_call(ctx, carrier="twilio", carrier_call_id=call_sid)
    if record is None:
        log.info("status_for_unknown_call_ignored", status=status)
        return Response(status_code=204)
    duration = _call_duration(form.get("CallDuration", ""))
    await flows.update_status(ctx, call_id=record.id, status=status, duration=duration)
    return Response(status_code=204)


def _call_duration(text: str) -> float | None:
    if not text.strip():
        return None
    longest = MAX_CALL_SECONDS + DURATION_SLACK_SECONDS
    if not text.strip().isdigit() or int(text) > longest:
        raise field_error("CallDuration", f"must be whole seconds between 0 and {longest}")
    return float(int(text))


@router.post("/webhook/azure-events", tags=["acs"], dependencies=ACS)
async def azure_events(events: list[dict[str, Any]] = Body(max_length=100), ctx: ServiceContext = Ctx) -> JSONResponse:
    """Event Grid delivery: the subscription handshake, or incoming calls to answer, redirect or reject."""
    handled = []
    for index, event in enumerate(events):
        kind = event.get("eventType")
        try:
            if kind == acs_events.VALIDATION_EVENT:
                return JSONResponse({"validationResponse": acs_events.validation_code(event)})
            if kind == acs_events.INCOMING_CALL_EVENT:
                handled.append(await _acs_incoming_call(ctx, acs_events.parse_incoming_call(event)))
        except acs_events.EventFormatError as error:
            raise field_error(f"{index}.{error.args[0].split(':')[0]}", str(error).split(": ", 1)[-1]) from None
    return JSONResponse({"handled": handled})


async def _acs_incoming_call(ctx: ServiceContext, call: acs_events.AcsIncomingCall) -> dict[str, Any]:
    outcome = await flows.handle_incoming_call(
        ctx,
        carrier="acs",
        carrier_call_id=call.correlation_id or call.server_call_id or call.incoming_call_context[-64:],
        caller_raw=call.caller,
        dialled_raw=call.dialled,
    )
    result = _decision_out(ctx, outcome, "acs").model_dump(exclude_none=True)
    control = ctx.extras.get("acs_control")
    if outcome.replayed:
        return result
    if not isinstance(control, acs_events.AcsCallControl):
        log.warning("acs_not_configured", call_id=outcome.call_id)
        await flows.update_status(ctx, call_id=outcome.call_id, status="failed", extra={"acs": "not configured"})
        return result
    try:
        decision = outcome.decision
        if decision.decision is Decision.AI and not fallback.availability_of(ctx).can_stream():
            await fallback.acs_media_unavailable(ctx, control, call, outcome)  # the person's fallback at once
        elif decision.decision is Decision.AI:
            connection_id = await control.answer_with_stream(
                call,
                callback_url=fallback.acs_callback_url(ctx, outcome.call_id),
                transport_url=flows.stream_url(ctx, "acs", outcome.parameters),
            )
            extra: dict[str, object] = {"acs": connection_id, "acs_server_call": call.server_call_id}  # voicemail
            await flows.update_status(ctx, call_id=outcome.call_id, status="answered", extra=extra)
        elif decision.transfer_to is not None:
            await control.redirect(call, number=decision.transfer_to)
            await flows.update_status(ctx, call_id=outcome.call_id, status="completed", extra={"acs": "redirected"})
        else:
            await control.reject(call)
    except Exception as error:  # the carrier API failed: the record says so; Event Grid must still get its 200
        log.error("acs_call_control_failed", call_id=outcome.call_id, error_type=type(error).__name__)
        await flows.update_status(
            ctx, call_id=outcome.call_id, status="failed", extra={"acs_error": type(error).__name__}
        )
    return result


@router.post("/acs/callbacks", status_code=204, tags=["acs"], response_class=Response, dependencies=ACS)
async def acs_callbacks(
    events: list[dict[str, Any]] = Body(max_length=100),
    call_id: str = Query(pattern=ID_PATTERN),
    ctx: ServiceContext = Ctx,
) -> Response:
    """Call automation events for one of our calls (the callback URL carries our call id)."""
    control = ctx.extras.get("acs_control")
    for event in events:
        kind = str(event.get("type") or event.get("eventType") or "")
        if kind.endswith("CallConnected"):
            await flows.update_status(ctx, call_id=call_id, status="in-progress")
            if isinstance(control, acs_events.AcsCallControl):  # a voicemail waiting for the call to connect
                await fallback.acs_connected(ctx, control, call_id)
        elif kind.endswith(("MediaStreamingFailed", "MediaStreamingStopped")):
            if isinstance(control, acs_events.AcsCallControl):  # hang up if the AI ended it, else the fallback
                await fallback.acs_stream_ended(ctx, control, call_id)
        elif kind.endswith("CallDisconnected"):
            await flows.update_status(ctx, call_id=call_id, status="completed")
    return Response(status_code=204)


@router.post(
    "/internal/v1/calls/{call_id}/status",
    status_code=204,
    tags=["internal"],
    response_class=Response,
    dependencies=[Depends(service_caller("realtime-processor", "responder"))],
)
async def call_status(body: CallStatusIn, call_id: str = id_path(), ctx: ServiceContext = Ctx) -> Response:
    """Status of a generic/loopback call (answered, completed ...); "transfer_failed" hands it to the AI."""
    if body.status == "transfer_failed":
        await flows.fall_back_to_ai(ctx, call_id=call_id)
        return Response(status_code=204)
    if not await flows.update_status(ctx, call_id=call_id, status=body.status, duration=body.duration_seconds):
        raise HTTPException(status_code=404, detail="call_id: no such call")
    return Response(status_code=204)


@router.post(
    "/internal/v1/calls/{call_id}/hangup",
    status_code=204,
    tags=["internal"],
    response_class=Response,
    dependencies=[Depends(service_caller("realtime-processor", "responder"))],
)
async def hang_up(call_id: str = id_path(), ctx: ServiceContext = Ctx) -> Response:
    """End a call: through the ACS SDK for an answered ACS call; Twilio and loopback calls end when their media
    stream closes, so for them this only completes the record."""
    async with ctx.require_database().session() as session:
        record = await session.get(CallRecord, call_id)
    if record is None:
        raise HTTPException(status_code=404, detail="call_id: no such call")
    connection_id = (record.details or {}).get("acs")
    control = ctx.extras.get("acs_control")
    if record.carrier == "acs" and isinstance(connection_id, str) and isinstance(control, acs_events.AcsCallControl):
        try:
            await control.hang_up(connection_id)
        except Exception as error:  # the carrier may have ended it already; the record still ends
            log.warning("acs_hang_up_failed", call_id=call_id, error_type=type(error).__name__)
    await flows.update_status(ctx, call_id=call_id, status="ended")
    return Response(status_code=204)


@router.get(
    "/internal/v1/calls/{call_id}",
    response_model=CallRecordOut,
    tags=["internal"],
    dependencies=[Depends(service_caller("realtime-processor", "profile-analytics", "responder"))],
)
async def call_record(call_id: str = id_path(), ctx: ServiceContext = Ctx) -> CallRecordOut:
    async with ctx.require_database().session() as session:
        record = await session.get(CallRecord, call_id)
    if record is None:
        raise HTTPException(status_code=404, detail="call_id: no such call")
    return CallRecordOut.model_validate(record, from_attributes=True)
