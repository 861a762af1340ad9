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


def stream_twiml(stream_url: str, parameters: Mapping[str, str], *, action_url: str | None = None) -> str:
    """Connect the call to realtime-processor's media WebSocket, passing our call id and the user's settings.

    ``action_url``: where Twilio asks what next when the stream ends or fails (the call's fallback, or a hang-up
    after the AI ended the call); without it Twilio would run the verbs after ``</Connect>`` or hang up.
    """
    response = VoiceResponse()
    connect = Connect(action=action_url, method="POST") if action_url else Connect()
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


# The fallback's voicemail: long enough for a message, short enough that a robocaller cannot fill the storage.
VOICEMAIL_MAX_SECONDS = 120
# What a caller hears before the beep when the AI cannot take the call, in the call's language.
VOICEMAIL_PROMPTS = {
    "zh-CN": "您好，机主现在无法接听。请在提示音后留言。",
    "en-US": "Hello, the person you called cannot answer right now. Please leave a message after the tone.",
}


def ring_twiml(number: str, *, action_url: str) -> str:
    """The fallback's ring: the person's proven real number; the outcome goes to ``action_url`` (voicemail when
    nobody answers, a hang-up when the conversation is over)."""
    return dial_twiml(number, action_url=action_url)


def voicemail_twiml(language: str, *, action_url: str, recording_status_url: str) -> str:
    """A short message in the call's language, then a recorded voicemail (``<Record>``), then a hang-up.

    ``action_url`` is requested when the recording ends (without it Twilio would request this document's URL again,
    a loop); ``recording_status_url`` gets the recording's URL and duration when Twilio has stored it.
    """
    response = VoiceResponse()
    spoken = language if language in VOICEMAIL_PROMPTS else "en-US"
    response.say(VOICEMAIL_PROMPTS[spoken], language=spoken)
    response.record(
        action=action_url,
        method="POST",
        max_length=VOICEMAIL_MAX_SECONDS,
        play_beep=True,
        recording_status_callback=recording_status_url,
        recording_status_callback_method="POST",
    )
    response.hangup()
    return str(response)


def reject_twiml() -> str:
    response = VoiceResponse()
    response.reject(reason="rejected")
    return str(response)


def hangup_twiml() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)
