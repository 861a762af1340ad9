"""Moving a live call out of the AI's hands: transfer it to the person's real number ("Take the call"), or end it
("Hang up now"), through each carrier's own API.

* Twilio: the REST API's call update (``calls(sid).update(twiml=...)``, twilio SDK): Twilio stops the media
  stream and runs the new TwiML, a ``<Dial>`` to the person's number (or ``status="completed"`` to hang up).
* ACS: call automation's ``transfer_call_to_participant`` (SDK), from the hosted number to the person's number.
* The loopback carrier (``answer-ninja up`` with no Twilio account): the same TwiML is kept for the call, and the
  loopback carrier fetches it when its stream closes, exactly where Twilio would run it.

Each is a small class with two verbs; ``closes_stream`` says whether the carrier ends the media stream itself
(else phone-gateway asks realtime-processor to close it).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from twilio.rest import Client as TwilioClient

from answer_ninja.telephony.twilio_voice import dial_twiml, hangup_twiml

# Where Twilio posts the transfer's outcome: the gateway's dial-status webhook (it ends or falls back).
DIAL_STATUS_PATH = "/twilio/dial-status"


@dataclass(frozen=True)
class LiveCall:
    """What a carrier needs to act on one call."""

    call_id: str
    carrier: str
    carrier_call_id: str
    dialled: str  # the hosted number: the caller id a transfer shows
    acs_connection_id: str | None = None


def transfer_twiml(call: LiveCall, number: str, *, gateway_url: str) -> str:
    """The TwiML a taken-over call runs: ring the person; the outcome comes back to phone-gateway."""
    return dial_twiml(number, action_url=f"{gateway_url}{DIAL_STATUS_PATH}?call_id={call.call_id}&takeover=1")


class CallControl(Protocol):
    closes_stream: bool

    async def transfer(self, call: LiveCall, number: str) -> dict[str, Any]: ...

    async def hang_up(self, call: LiveCall) -> dict[str, Any]: ...


class TwilioCallControl:
    """Twilio's REST API through the SDK (sync HTTP, so each call runs in a worker thread)."""

    closes_stream = True

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        gateway_url: str,
        api_base_url: str | None = None,
        verify: Any = True,
    ) -> None:
        self.client = TwilioClient(account_sid, auth_token)
        if api_base_url:  # a test endpoint (the wire recorder); Twilio's own URL otherwise
            self.client.api.base_url = api_base_url.rstrip("/")
        session = getattr(self.client.http_client, "session", None)
        if session is not None and verify is not True:  # a test endpoint's certificate (REQUESTS_CA_BUNDLE would win)
            session.verify = verify
            session.trust_env = False
        self.gateway_url = gateway_url.rstrip("/")

    async def transfer(self, call: LiveCall, number: str) -> dict[str, Any]:
        twiml = transfer_twiml(call, number, gateway_url=self.gateway_url)
        updated = await asyncio.to_thread(self.client.calls(call.carrier_call_id).update, twiml=twiml)
        return {"carrier": "twilio", "status": str(getattr(updated, "status", "") or "")}

    async def hang_up(self, call: LiveCall) -> dict[str, Any]:
        updated = await asyncio.to_thread(self.client.calls(call.carrier_call_id).update, status="completed")
        return {"carrier": "twilio", "status": str(getattr(updated, "status", "") or "")}


class AcsTransfer:
    """Azure Communication Services call automation: transfer the answered call, or hang it up for everyone."""

    closes_stream = True

    def __init__(self, client: Any) -> None:
        self.client = client  # azure.communication.callautomation.aio.CallAutomationClient

    async def transfer(self, call: LiveCall, number: str) -> dict[str, Any]:
        from azure.communication.callautomation import PhoneNumberIdentifier

        if not call.acs_connection_id:
            raise ValueError("call_id: the ACS call has no connection (not answered)")
        connection = self.client.get_call_connection(call.acs_connection_id)
        result = await connection.transfer_call_to_participant(
            PhoneNumberIdentifier(number),
            operation_context=f"takeover:{call.call_id}",
            source_caller_id_number=PhoneNumberIdentifier(call.dialled),
        )
        return {"carrier": "acs", "status": str(getattr(result, "status", "") or "")}

    async def hang_up(self, call: LiveCall) -> dict[str, Any]:
        if not call.acs_connection_id:
            raise ValueError("call_id: the ACS call has no connection (not answered)")
        await self.client.get_call_connection(call.acs_connection_id).hang_up(is_for_everyone=True)
        return {"carrier": "acs", "status": "hung_up"}


class LoopbackCallControl:
    """The loopback carrier has no REST API: the update is kept on the call, for the carrier to fetch and run."""

    closes_stream = False

    async def transfer(self, call: LiveCall, number: str) -> dict[str, Any]:
        # Relative, as the gateway's own TwiML answers are: the loopback carrier posts back to the gateway it rang.
        return {"carrier": "loopback", "twiml": transfer_twiml(call, number, gateway_url="")}

    async def hang_up(self, call: LiveCall) -> dict[str, Any]:
        return {"carrier": "loopback", "twiml": hangup_twiml()}
