"""Twilio Programmable Voice: the voice webhook's form fields, its signature, and the TwiML we answer with.

Twilio signs every webhook with ``X-Twilio-Signature`` (HMAC-SHA1 of the URL and the sorted form fields, keyed by
the account's auth token); the SDK's ``RequestValidator`` checks it and ``VoiceResponse`` writes the TwiML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Connect, Dial, VoiceResponse

SIGNATURE_HEADER = "X-Twilio-Signature"
# How long a transfer rings the user's real phone before Twilio reports no-answer and we fall back to the AI.
DIAL_TIMEOUT_SECONDS = 20
# Call statuses after which the call is over (Twilio's CallStatus values).
FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


@dataclass(frozen=True)
class TwilioCall:
    call_sid: str
    caller: str
    dialled: str
    status: str


def parse_voice_webhook(form: Mapping[str, str]) -> TwilioCall:
    """The fields of Twilio's voice webhook we use; KeyError names a missing one."""
    return TwilioCall(
        call_sid=form["CallSid"],
        caller=form.get("From", "") or "anonymous",
        dialled=form["To"],
        status=form.get("CallStatus", "ringing"),
    )


def signature_is_valid(auth_token: str, url: str, form: Mapping[str, str], signature: str | None) -> bool:
    if not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, dict(form), signature))


def sign(auth_token: str, url: str, form: Mapping[str, str]) -> str:
    """The signature Twilio would send (the SDK's own code): used by the loopback carrier and tests."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(form)))


def http_to_ws(url: str) -> str:
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def stream_twiml(stream_url: str, parameters: Mapping[str, str]) -> str:
    """Connect the call to realtime-processor's media WebSocket, passing our call id and the user's settings."""
    response = VoiceResponse()
    connect = Connect()
    stream = connect.stream(url=stream_url)
    for name, value in parameters.items():
        stream.parameter(name=name, value=value)
    response.append(connect)
    return str(response)


def dial_twiml(number: str, *, action_url: str) -> str:
    """Ring the user's real number; Twilio posts the outcome to ``action_url`` (a failure falls back to AI)."""
    response = VoiceResponse()
    dial = Dial(action=action_url, method="POST", timeout=DIAL_TIMEOUT_SECONDS)
    dial.number(number)
    response.append(dial)
    return str(response)


def reject_twiml() -> str:
    response = VoiceResponse()
    response.reject(reason="rejected")
    return str(response)


def hangup_twiml() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)
