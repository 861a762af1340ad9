"""Delivering a number-verification code: by SMS or a voice call through Twilio's REST API (the official SDK), or
by the loopback carrier, which writes it to the log (the local default, so a person can try it with `make up`).

Twilio's SDK is synchronous (requests); a send runs in a thread so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Literal, Protocol

from answer_ninja.platform.logging import get_logger

log = get_logger(__name__)

Channel = Literal["sms", "call"]
# The loopback carrier keeps its last messages in memory so tests in the same process can read them.
OUTBOX_SIZE = 200


@dataclass(frozen=True)
class Delivery:
    number: str
    channel: Channel
    code: str


class CodeSender(Protocol):
    name: str

    async def send(self, *, number: str, code: str, channel: Channel) -> None: ...


def message_text(code: str) -> str:
    return f"Your AI Answer Ninja code is {code}. It expires in 10 minutes. If you did not ask for it, ignore this."


def spoken_twiml(code: str) -> str:
    """TwiML that says the code twice, digit by digit (a person writes it down the second time)."""
    from twilio.twiml.voice_response import VoiceResponse

    digits = ", ".join(code)
    response = VoiceResponse()
    for _ in range(2):
        response.say(f"Your AI Answer Ninja code is: {digits}.")
        response.pause(length=1)
    return str(response)


class LoopbackSender:
    """The local carrier: nothing leaves the machine; the code is logged (and kept for in-process tests)."""

    name = "loopback"

    def __init__(self) -> None:
        self.outbox: deque[Delivery] = deque(maxlen=OUTBOX_SIZE)

    async def send(self, *, number: str, code: str, channel: Channel) -> None:
        self.outbox.append(Delivery(number, channel, code))
        # Logged on purpose: this carrier's only way to hand the code to the person at the keyboard.
        log.warning("loopback_verification_code", number=number, channel=channel, verification_code=code)

    def last_code(self, number: str) -> str | None:
        return next((item.code for item in reversed(self.outbox) if item.number == number), None)


class TwilioSender:
    """SMS through the Messages API, or a call that speaks the code through the Calls API."""

    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_url: str = "https://api.twilio.com",
        verify: bool | str = True,
    ) -> None:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        http_client = TwilioHttpClient(timeout=10)
        if verify is not True and http_client.session is not None:
            # A test recorder's own certificate: REQUESTS_CA_BUNDLE from the environment must not override it.
            http_client.session.verify = verify
            http_client.session.trust_env = False
        self.client = Client(account_sid, auth_token, http_client=http_client)
        self.client.api.base_url = api_url.rstrip("/")
        self.from_number = from_number

    async def send(self, *, number: str, code: str, channel: Channel) -> None:
        await asyncio.to_thread(self._send, number, code, channel)

    def _send(self, number: str, code: str, channel: Channel) -> None:
        if channel == "call":
            self.client.calls.create(to=number, from_=self.from_number, twiml=spoken_twiml(code))
        else:
            self.client.messages.create(to=number, from_=self.from_number, body=message_text(code))
