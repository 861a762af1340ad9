from __future__ import annotations

import pytest

from answer_ninja.telephony import twilio_voice
from answer_ninja.telephony.loopback import UnexpectedTwimlError, parse_twiml

URL = "https://gateway.example/twilio/voice"
FORM = {"CallSid": "CA1", "From": "+8613800138000", "To": "+8610012345678", "CallStatus": "ringing"}


def test_signature_made_by_the_sdk_validates_and_tampering_fails() -> None:
    signature = twilio_voice.sign("token", URL, FORM)
    assert twilio_voice.signature_is_valid("token", URL, FORM, signature)
    assert not twilio_voice.signature_is_valid("other-token", URL, FORM, signature)
    assert not twilio_voice.signature_is_valid("token", URL, {**FORM, "From": "+1"}, signature)
    assert not twilio_voice.signature_is_valid("token", URL, FORM, None)


def test_stream_twiml_round_trips_through_the_loopback_parser() -> None:
    twiml = twilio_voice.stream_twiml("ws://rp/media/twilio", {"call_id": "c1", "persona": "humorous"})
    assert twiml.startswith("<?xml")
    answer = parse_twiml(twiml)
    assert answer.decision == "ai"
    assert answer.stream_url == "ws://rp/media/twilio"
    assert answer.parameters == {"call_id": "c1", "persona": "humorous"}
    assert answer.call_id == "c1"


def test_dial_and_reject_twiml() -> None:
    dial = parse_twiml(twilio_voice.dial_twiml("+8613900000001", action_url="/twilio/dial-status?call_id=c1"))
    assert (dial.decision, dial.transfer_number, dial.dial_action) == (
        "transfer",
        "+8613900000001",
        "/twilio/dial-status?call_id=c1",
    )
    assert 'timeout="20"' in dial.twiml
    assert parse_twiml(twilio_voice.reject_twiml()).decision == "reject"
    assert parse_twiml(twilio_voice.hangup_twiml()).decision == "hangup"


def test_parse_voice_webhook_fields() -> None:
    call = twilio_voice.parse_voice_webhook({"CallSid": "CA9", "To": "+861", "From": ""})
    assert (call.call_sid, call.caller, call.dialled, call.status) == ("CA9", "anonymous", "+861", "ringing")
    with pytest.raises(KeyError):
        twilio_voice.parse_voice_webhook({"To": "+861"})


@pytest.mark.parametrize("text", ["not xml", "<Foo/>", "<Response><Say>hi</Say></Response>"])
def test_unexpected_twiml_is_an_error(text: str) -> None:
    with pytest.raises(UnexpectedTwimlError):
        parse_twiml(text)


def test_http_to_ws() -> None:
    assert twilio_voice.http_to_ws("http://127.0.0.1:3002/") == "ws://127.0.0.1:3002"
    assert twilio_voice.http_to_ws("https://rp.example") == "wss://rp.example"


def test_an_ai_answer_with_an_after_stream_action_and_the_voicemail_round_trip() -> None:
    from answer_ninja.telephony.loopback import parse_twiml

    streamed = parse_twiml(
        twilio_voice.stream_twiml(
            "ws://h/media/twilio", {"call_id": "c1"}, action_url="/twilio/after-stream?call_id=c1"
        )
    )
    assert streamed.decision == "ai"
    assert streamed.stream_action == "/twilio/after-stream?call_id=c1"
    assert parse_twiml(twilio_voice.stream_twiml("ws://h/media/twilio", {})).stream_action is None

    voicemail = parse_twiml(
        twilio_voice.voicemail_twiml("en-US", action_url="/twilio/voicemail?call_id=c1", recording_status_url="/r")
    )
    assert voicemail.decision == "voicemail"
    assert voicemail.prompt == twilio_voice.VOICEMAIL_PROMPTS["en-US"]
    assert voicemail.record_action == "/twilio/voicemail?call_id=c1"
    assert voicemail.recording_callback == "/r"
    assert f'maxLength="{twilio_voice.VOICEMAIL_MAX_SECONDS}"' in voicemail.twiml
    assert voicemail.twiml.endswith("<Hangup /></Response>")
    # A language we have no prompt for hears the English one, never nothing.
    assert "the person you called" in twilio_voice.voicemail_twiml("fr-FR", action_url="/a", recording_status_url="/b")
