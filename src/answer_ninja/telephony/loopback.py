"""The local loopback carrier: places a call into phone-gateway exactly as Twilio would (form-encoded voice
webhook, signed with the Twilio SDK when a token is set) and reads the TwiML answer back.

Used by ``answer-ninja up`` users, the caller simulator and the tests, so the whole path runs with no carrier.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import httpx

from answer_ninja.telephony.twilio_voice import SIGNATURE_HEADER, sign


class UnexpectedTwimlError(ValueError):
    """phone-gateway answered with something that is not TwiML we understand."""


@dataclass(frozen=True)
class LoopbackAnswer:
    decision: str  # ai | transfer | voicemail | reject | hangup
    stream_url: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    transfer_number: str | None = None
    dial_action: str | None = None
    twiml: str = ""
    # Where Twilio asks what next when the stream ends (<Connect action>): the fallback, or a hang-up.
    stream_action: str | None = None
    # A voicemail: what the caller hears, then where the recording's end and its storage are reported.
    prompt: str | None = None
    record_action: str | None = None
    recording_callback: str | None = None

    @property
    def call_id(self) -> str | None:
        return self.parameters.get("call_id")


def parse_twiml(twiml: str) -> LoopbackAnswer:
    try:
        root = ET.fromstring(twiml)
    except ET.ParseError as error:
        raise UnexpectedTwimlError(f"not XML: {error}") from None
    if root.tag != "Response":
        raise UnexpectedTwimlError(f"root element is {root.tag}, not Response")
    stream = root.find("./Connect/Stream")
    if stream is not None:
        parameters = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
        action = root.find("./Connect")
        return LoopbackAnswer(
            "ai",
            stream_url=stream.get("url"),
            parameters=parameters,
            twiml=twiml,
            stream_action=action.get("action") if action is not None else None,
        )
    dial = root.find("./Dial")
    if dial is not None:
        number = dial.find("Number")
        target = (number.text if number is not None else dial.text) or ""
        return LoopbackAnswer("transfer", transfer_number=target.strip(), dial_action=dial.get("action"), twiml=twiml)
    record = root.find("./Record")
    if record is not None:
        say = root.find("./Say")
        return LoopbackAnswer(
            "voicemail",
            prompt=(say.text or "").strip() if say is not None else None,
            record_action=record.get("action"),
            recording_callback=record.get("recordingStatusCallback"),
            twiml=twiml,
        )
    if root.find("./Reject") is not None:
        return LoopbackAnswer("reject", twiml=twiml)
    if root.find("./Hangup") is not None:
        return LoopbackAnswer("hangup", twiml=twiml)
    raise UnexpectedTwimlError("no Connect/Stream, Dial, Record, Reject or Hangup")


class LoopbackCarrier:
    """A carrier on loopback. ``auth_token`` signs requests like Twilio does (None: unsigned, for local runs)."""

    def __init__(self, gateway_url: str, *, auth_token: str | None = None, client: httpx.AsyncClient | None = None):
        self.gateway_url = gateway_url.rstrip("/")
        self.auth_token = auth_token
        self._client = client or httpx.AsyncClient(timeout=10.0)
        self._owns_client = client is None

    async def _post_form(self, path: str, form: dict[str, str]) -> httpx.Response:
        url = self.gateway_url + path
        headers = {}
        if self.auth_token:
            headers[SIGNATURE_HEADER] = sign(self.auth_token, url, form)
        return await self._client.post(url, data=form, headers=headers)

    async def place_call(self, *, caller: str, dialled: str, call_sid: str | None = None) -> LoopbackAnswer:
        """Ring phone-gateway; raise httpx.HTTPStatusError on a non-2xx answer (403 when the signature is bad)."""
        form = {
            "CallSid": call_sid or "CA" + uuid.uuid4().hex,
            "AccountSid": "AC" + "0" * 32,
            "From": caller,
            "To": dialled,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        response = await self._post_form("/twilio/voice", form)
        response.raise_for_status()
        return parse_twiml(response.text)

    async def report_dial_result(self, answer: LoopbackAnswer, *, dial_status: str) -> LoopbackAnswer:
        """What Twilio does when a <Dial> ends: post DialCallStatus to its action URL, read the next TwiML."""
        if not answer.dial_action:
            raise UnexpectedTwimlError("the answer has no Dial action")
        response = await self._post_form(answer.dial_action, {"DialCallStatus": dial_status})
        response.raise_for_status()
        return parse_twiml(response.text)

    async def stream_ended(
        self, answer: LoopbackAnswer, *, call_sid: str, caller_hung_up: bool = False
    ) -> LoopbackAnswer | None:
        """What Twilio does when a ``<Connect>`` ends (the stream closed, failed or never opened) with the caller
        still on the line: request its action URL and run the TwiML it answers. None when there is no action (the
        call then ends, as with Twilio)."""
        if not answer.stream_action:
            return None
        status = "completed" if caller_hung_up else "in-progress"
        form = {"CallSid": call_sid, "CallStatus": status, "AccountSid": "AC" + "0" * 32}
        response = await self._post_form(answer.stream_action, form)
        response.raise_for_status()
        return parse_twiml(response.text)

    async def leave_voicemail(
        self, answer: LoopbackAnswer, *, call_sid: str, seconds: int = 5, recording_sid: str | None = None
    ) -> LoopbackAnswer:
        """The caller speaks after the beep for ``seconds``: Twilio reports the stored recording and asks the
        ``<Record>`` action what next (a hang-up)."""
        if not answer.record_action:
            raise UnexpectedTwimlError("the answer has no Record action")
        sid = recording_sid or "RE" + uuid.uuid4().hex
        form = {
            "CallSid": call_sid,
            "RecordingSid": sid,
            "RecordingUrl": f"https://api.loopback.invalid/Recordings/{sid}",
            "RecordingDuration": str(seconds),
            "RecordingStatus": "completed",
        }
        if answer.recording_callback:
            (await self._post_form(answer.recording_callback, form)).raise_for_status()
        response = await self._post_form(answer.record_action, form)
        response.raise_for_status()
        return parse_twiml(response.text)

    async def fetch_update(self, call_sid: str) -> LoopbackAnswer | None:
        """The call's new TwiML after a REST-style update (a person took the call, or hung it up), as Twilio would
        run it when the stream closes; None when the call was not updated."""
        response = await self._client.get(f"{self.gateway_url}/loopback/calls/{call_sid}/update")
        if response.status_code in (204, 404):
            return None
        response.raise_for_status()
        return parse_twiml(response.text)

    async def report_status(self, *, call_sid: str, status: str, duration_seconds: int | None = None) -> None:
        form = {"CallSid": call_sid, "CallStatus": status}
        if duration_seconds is not None:
            form["CallDuration"] = str(duration_seconds)
        (await self._post_form("/twilio/status", form)).raise_for_status()

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()
