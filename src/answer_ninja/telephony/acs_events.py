"""Azure Communication Services: Event Grid deliveries (the validation handshake, IncomingCall) and call control
through the official call automation SDK (answer with bidirectional media streaming, redirect, reject).

Event Grid posts a JSON array of events. ``Microsoft.EventGrid.SubscriptionValidationEvent`` must be answered
with ``{"validationResponse": <validationCode>}``; ``Microsoft.Communication.IncomingCall`` carries the caller, the
dialled number and the ``incomingCallContext`` that the call automation API needs to act on the call. A call
that was answered is then known by its call connection id (hang-up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from azure.communication.callautomation import (
    AudioFormat,
    MediaStreamingAudioChannelType,
    MediaStreamingContentType,
    MediaStreamingOptions,
    PhoneNumberIdentifier,
    RecordingChannel,
    RecordingContent,
    RecordingFormat,
    StreamingTransportType,
    TextSource,
)
from azure.communication.callautomation.aio import CallAutomationClient

VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
INCOMING_CALL_EVENT = "Microsoft.Communication.IncomingCall"


class EventFormatError(ValueError):
    """An event lacks a field we need; the message names it."""


@dataclass(frozen=True)
class AcsIncomingCall:
    caller: str
    dialled: str
    incoming_call_context: str
    correlation_id: str
    server_call_id: str


def _identifier_number(identifier: Any, field: str) -> str:
    """The phone number of a CommunicationIdentifier model ({"phoneNumber": {"value"}} or rawId "4:+1...")."""
    if not isinstance(identifier, Mapping):
        raise EventFormatError(f"data.{field}: missing")
    phone = identifier.get("phoneNumber")
    if isinstance(phone, Mapping) and isinstance(phone.get("value"), str):
        return str(phone["value"])
    raw = identifier.get("rawId")
    if isinstance(raw, str) and raw:
        return raw.removeprefix("4:")
    raise EventFormatError(f"data.{field}: no phone number")


def validation_code(event: Mapping[str, Any]) -> str:
    code = (event.get("data") or {}).get("validationCode")
    if not isinstance(code, str) or not code:
        raise EventFormatError("data.validationCode: missing")
    return code


def parse_incoming_call(event: Mapping[str, Any]) -> AcsIncomingCall:
    data = event.get("data")
    if not isinstance(data, Mapping):
        raise EventFormatError("data: missing")
    context = data.get("incomingCallContext")
    if not isinstance(context, str) or not context:
        raise EventFormatError("data.incomingCallContext: missing")
    return AcsIncomingCall(
        caller=_identifier_number(data.get("from"), "from"),
        dialled=_identifier_number(data.get("to"), "to"),
        incoming_call_context=context,
        correlation_id=str(data.get("correlationId") or event.get("id") or ""),
        server_call_id=str(data.get("serverCallId") or ""),
    )


def media_streaming(transport_url: str) -> MediaStreamingOptions:
    """Bidirectional 16 kHz PCM over a WebSocket to realtime-processor, started as soon as the call connects."""
    return MediaStreamingOptions(
        transport_url=transport_url,
        transport_type=StreamingTransportType.WEBSOCKET,
        content_type=MediaStreamingContentType.AUDIO,
        audio_channel_type=MediaStreamingAudioChannelType.MIXED,
        start_media_streaming=True,
        enable_bidirectional=True,
        audio_format=AudioFormat.PCM16_K_MONO,
    )


class AcsCallControl:
    """Acts on incoming ACS calls through the SDK. One client per process (it keeps an HTTP session)."""

    def __init__(
        self, connection_string: str, *, cognitive_services_endpoint: str | None = None, **client_options: Any
    ) -> None:
        # client_options go to azure-core's pipeline (e.g. connection_verify for a test endpoint's certificate).
        self._client = CallAutomationClient.from_connection_string(connection_string, **client_options)
        # ACS speaks text (the voicemail's message) only on calls answered with this endpoint.
        self._speech = cognitive_services_endpoint or None

    async def answer_with_stream(self, call: AcsIncomingCall, *, callback_url: str, transport_url: str) -> str:
        """Answer and stream media; returns ACS's call connection id."""
        properties = await self._client.answer_call(
            call.incoming_call_context,
            callback_url,
            media_streaming=media_streaming(transport_url),
            cognitive_services_endpoint=self._speech,
        )
        return str(properties.call_connection_id or "")

    async def answer_without_media(self, call: AcsIncomingCall, *, callback_url: str) -> str:
        """Answer with no media stream (the fallback's voicemail: realtime-processor cannot take the call)."""
        properties = await self._client.answer_call(
            call.incoming_call_context, callback_url, cognitive_services_endpoint=self._speech
        )
        return str(properties.call_connection_id or "")

    async def transfer(self, call_connection_id: str, *, number: str, caller_id: str, context: str) -> None:
        """Move an answered call to ``number`` (the fallback's ring), showing the hosted number as caller id."""
        await self._client.get_call_connection(call_connection_id).transfer_call_to_participant(
            PhoneNumberIdentifier(number),
            operation_context=context,
            source_caller_id_number=PhoneNumberIdentifier(caller_id),
        )

    async def voicemail(
        self, call_connection_id: str, *, server_call_id: str, prompt: str, locale: str, recording_callback_url: str
    ) -> None:
        """The fallback's voicemail: a short message (ACS text-to-speech), then the call is recorded (audio, WAV);
        ACS reports the stored recording to ``recording_callback_url``."""
        connection = self._client.get_call_connection(call_connection_id)
        await connection.play_media_to_all(TextSource(text=prompt, source_locale=locale), operation_context="voicemail")
        await self._client.start_recording(
            server_call_id=server_call_id,
            recording_state_callback_url=recording_callback_url,
            recording_content_type=RecordingContent.AUDIO,
            recording_channel_type=RecordingChannel.MIXED,
            recording_format_type=RecordingFormat.WAV,
        )

    async def redirect(self, call: AcsIncomingCall, *, number: str) -> None:
        await self._client.redirect_call(call.incoming_call_context, PhoneNumberIdentifier(number))

    async def reject(self, call: AcsIncomingCall) -> None:
        await self._client.reject_call(call.incoming_call_context, call_reject_reason="busy")

    async def hang_up(self, call_connection_id: str) -> None:
        """End the call for everyone on it (the AI is done, or the call must stop)."""
        await self._client.get_call_connection(call_connection_id).hang_up(is_for_everyone=True)

    async def close(self) -> None:
        await self._client.close()
