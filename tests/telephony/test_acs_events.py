from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from answer_ninja.telephony import acs_events
from tests.telephony.recorder import recorder

CONTEXT = "eyJhbGciOi.incoming-call-context"


def incoming_call_event(caller: str = "+8613800138000", dialled: str = "+8610012345678") -> dict[str, Any]:
    """An IncomingCall event as Event Grid delivers it (shape from the ACS documentation)."""
    return {
        "id": "evt-1",
        "topic": "/subscriptions/x/resourceGroups/y/providers/Microsoft.Communication/communicationServices/z",
        "subject": f"/caller/4:{caller}/recipient/4:{dialled}",
        "eventType": acs_events.INCOMING_CALL_EVENT,
        "data": {
            "to": {"kind": "phoneNumber", "rawId": f"4:{dialled}", "phoneNumber": {"value": dialled}},
            "from": {"kind": "phoneNumber", "rawId": f"4:{caller}", "phoneNumber": {"value": caller}},
            "serverCallId": "server-call-1",
            "callerDisplayName": "",
            "incomingCallContext": CONTEXT,
            "correlationId": "corr-1",
        },
        "dataVersion": "1.0",
        "eventTime": "2026-01-01T00:00:00Z",
    }


def test_parse_incoming_call() -> None:
    call = acs_events.parse_incoming_call(incoming_call_event())
    assert (call.caller, call.dialled, call.incoming_call_context, call.correlation_id) == (
        "+8613800138000",
        "+8610012345678",
        CONTEXT,
        "corr-1",
    )


def test_raw_id_is_enough_and_missing_fields_are_named() -> None:
    event = incoming_call_event()
    event["data"]["from"] = {"rawId": "4:+8613800138000"}
    assert acs_events.parse_incoming_call(event).caller == "+8613800138000"
    del event["data"]["incomingCallContext"]
    with pytest.raises(acs_events.EventFormatError, match="incomingCallContext"):
        acs_events.parse_incoming_call(event)
    with pytest.raises(acs_events.EventFormatError, match="validationCode"):
        acs_events.validation_code({"data": {}})


def connection_string(url: str) -> str:
    return f"endpoint={url}/;accesskey={base64.b64encode(b'0' * 32).decode()}"


@pytest.mark.integration
async def test_sdk_answers_with_bidirectional_media_streaming_to_the_recorder(tmp_path: Path) -> None:
    with recorder(tmp_path) as api:
        api.responses["/calling/callConnections:answer"] = (
            200,
            {"callConnectionId": "conn-1", "callConnectionState": "connecting", "serverCallId": "server-call-1"},
        )
        control = acs_events.AcsCallControl(connection_string(api.url), connection_verify=False)
        try:
            call = acs_events.parse_incoming_call(incoming_call_event())
            connection = await control.answer_with_stream(
                call, callback_url="https://gw.example/acs/callbacks?call_id=c1", transport_url="wss://rp/media/acs"
            )
            await control.redirect(call, number="+8613900000001")
            await control.reject(call)
        finally:
            await control.close()
    assert connection == "conn-1"
    answer, redirect, reject = api.requests
    assert answer.path.startswith("/calling/callConnections:answer")
    assert answer.body["incomingCallContext"] == CONTEXT
    assert answer.body["callbackUri"] == "https://gw.example/acs/callbacks?call_id=c1"
    streaming = answer.body["mediaStreamingOptions"]
    assert streaming["transportUrl"] == "wss://rp/media/acs"
    assert streaming["enableBidirectional"] is True
    assert streaming["startMediaStreaming"] is True
    assert streaming["audioFormat"] == "pcm16KMono"
    assert "HMAC-SHA256" in answer.headers.get("Authorization", "")  # signed with the access key by the SDK
    assert redirect.path.startswith("/calling/callConnections:redirect")
    assert redirect.body["target"]["phoneNumber"]["value"] == "+8613900000001"
    assert reject.path.startswith("/calling/callConnections:reject")
    assert reject.body["callRejectReason"] == "busy"
