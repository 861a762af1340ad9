"""Twilio's requests at the end of an AI call's stream and along its fallback (``fallback.py`` says why).

``/twilio/after-stream`` (the ``<Connect action>``), ``/twilio/fallback-dial`` (the fallback's ring ended) and
``/twilio/voicemail`` (the recording ended, or was stored): each is a carrier webhook, checked like the others.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from answer_ninja.platform.app_factory import ServiceContext
from answer_ninja.services.phone_gateway import fallback
from answer_ninja.services.phone_gateway.views import TWIML, Ctx, TwilioForm, _form_body
from answer_ninja.services.user_management.schemas import ID_PATTERN

router = APIRouter()
CALL_ID = Query(pattern=ID_PATTERN)  # our call id, which the URLs we gave Twilio carry
_STRING = {"type": "string", "maxLength": 512}
AFTER_STREAM_FORM = _form_body({"CallSid": _STRING, "CallStatus": _STRING}, [])
FALLBACK_DIAL_FORM = _form_body({"DialCallStatus": _STRING, "CallSid": _STRING}, [])
RECORDING_FORM = _form_body(
    {"RecordingUrl": _STRING, "RecordingDuration": _STRING, "RecordingSid": _STRING, "RecordingStatus": _STRING}, []
)


@router.post(
    "/twilio/after-stream", tags=["twilio"], openapi_extra=AFTER_STREAM_FORM, response_class=Response,
)  # fmt: skip
async def after_stream(
    form: dict[str, str] = TwilioForm, call_id: str = CALL_ID, ctx: ServiceContext = Ctx
) -> Response:
    """The AI call's stream ended: ``<Hangup/>`` if the AI or the person ended it, else the person's fallback."""
    status = form.get("CallStatus", "in-progress")
    return Response(content=await fallback.after_stream(ctx, call_id, status), media_type=TWIML)


@router.post(
    "/twilio/fallback-dial", tags=["twilio"], openapi_extra=FALLBACK_DIAL_FORM, response_class=Response,
)  # fmt: skip
async def fallback_dial(
    form: dict[str, str] = TwilioForm, call_id: str = CALL_ID, ctx: ServiceContext = Ctx
) -> Response:
    """The fallback rang the person: answered -> hang up when it is over; busy/no-answer/failed -> voicemail."""
    status = form.get("DialCallStatus", "failed")
    return Response(content=await fallback.after_ring(ctx, call_id, status), media_type=TWIML)


@router.post("/twilio/voicemail", tags=["twilio"], openapi_extra=RECORDING_FORM, response_class=Response)
async def voicemail(form: dict[str, str] = TwilioForm, call_id: str = CALL_ID, ctx: ServiceContext = Ctx) -> Response:
    """The voicemail's recording ended or was stored: the record keeps where it is; the call ends."""
    return Response(content=await fallback.voicemail_done(ctx, call_id, form), media_type=TWIML)
