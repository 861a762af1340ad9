"""Azure Communication Services media streaming messages, as ACS documents them."""

from __future__ import annotations

import base64
import json

import pytest

from answer_ninja.telephony import acs_media
from answer_ninja.telephony.twilio_media import ProtocolError

METADATA = {
    "kind": "AudioMetadata",
    "audioMetadata": {"subscriptionId": "89e8cb59-b991-48b0-b154-1db84f16a077", "encoding": "PCM",
                      "sampleRate": 16000, "channels": 1, "length": 640},
}  # fmt: skip
AUDIO = {
    "kind": "AudioData",
    "audioData": {"timestamp": "2024-11-15T19:16:12.925Z", "participantRawID": "8:acs:3d20e1de-0f28-41c5",
                  "data": base64.b64encode(bytes(640)).decode(), "silent": False},
}  # fmt: skip


def test_parses_metadata_and_audio() -> None:
    metadata = acs_media.parse(json.dumps(METADATA))
    assert isinstance(metadata, acs_media.AudioMetadata)
    assert metadata.audio_metadata.sample_rate == 16000
    assert metadata.audio_metadata.length == 640
    audio = acs_media.parse(json.dumps(AUDIO))
    assert isinstance(audio, acs_media.AudioData)
    assert audio.audio_data.audio() == bytes(640)
    assert audio.audio_data.participant_raw_id.startswith("8:acs:")
    assert audio.audio_data.silent is False


def test_outbound_messages() -> None:
    out = json.loads(acs_media.audio_message(b"\x01\x02"))
    assert out["kind"] == "AudioData"
    assert base64.b64decode(out["audioData"]["data"]) == b"\x01\x02"
    stop = json.loads(acs_media.stop_audio_message())
    assert stop["kind"] == "StopAudio"
    assert stop["stopAudio"] == {}


def test_bad_message_names_the_field() -> None:
    with pytest.raises(ProtocolError, match="audioData"):
        acs_media.parse(json.dumps({"kind": "AudioData"}))
