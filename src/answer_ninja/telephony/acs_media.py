"""Azure Communication Services bidirectional media streaming wire format.

ACS -> us: ``{"kind": "AudioMetadata", "audioMetadata": {subscriptionId, encoding: "PCM", sampleRate: 16000,
channels: 1, length: 640}}`` once, then ``{"kind": "AudioData", "audioData": {data (base64 PCM16), timestamp,
participantRawID, silent}}`` per 20 ms. us -> ACS: ``{"kind": "AudioData", "audioData": {"data": ...}}`` and
``{"kind": "StopAudio", "audioData": null, "stopAudio": {}}`` (drop what is queued: barge-in).
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from answer_ninja.telephony.twilio_media import validate_message


class _Message(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class AudioMetadataInfo(_Message):
    subscription_id: str = Field("", alias="subscriptionId")
    encoding: str = "PCM"
    sample_rate: int = Field(16000, alias="sampleRate")
    channels: int = 1
    length: int = 640


class AudioMetadata(_Message):
    kind: Literal["AudioMetadata"]
    audio_metadata: AudioMetadataInfo = Field(alias="audioMetadata")


class AudioDataInfo(_Message):
    data: str
    timestamp: str = ""
    participant_raw_id: str = Field("", alias="participantRawID")
    silent: bool = False

    def audio(self) -> bytes:
        return base64.b64decode(self.data)


class AudioData(_Message):
    kind: Literal["AudioData"]
    audio_data: AudioDataInfo = Field(alias="audioData")


class StopAudio(_Message):
    kind: Literal["StopAudio"]


AcsMessage = Annotated[AudioMetadata | AudioData | StopAudio, Field(discriminator="kind")]
_ADAPTER: TypeAdapter[AcsMessage] = TypeAdapter(AcsMessage)


def parse(text: str | bytes) -> AcsMessage:
    return validate_message(_ADAPTER, text, "ACS media")


def audio_message(pcm16k: bytes) -> str:
    """Outbound audio to ACS (PCM16 16 kHz mono)."""
    return json.dumps(
        {"kind": "AudioData", "audioData": {"data": base64.b64encode(pcm16k).decode()}, "stopAudio": None}
    )


def stop_audio_message() -> str:
    return json.dumps({"kind": "StopAudio", "audioData": None, "stopAudio": {}})


def metadata_message(subscription_id: str, sample_rate: int = 16000) -> str:
    metadata = {"subscriptionId": subscription_id, "encoding": "PCM", "sampleRate": sample_rate, "channels": 1}
    return json.dumps({"kind": "AudioMetadata", "audioMetadata": {**metadata, "length": 640}})


def inbound_audio_message(pcm16k: bytes, timestamp: str, participant: str, *, silent: bool = False) -> str:
    data = {"data": base64.b64encode(pcm16k).decode(), "timestamp": timestamp, "participantRawID": participant}
    return json.dumps({"kind": "AudioData", "audioData": {**data, "silent": silent}})
