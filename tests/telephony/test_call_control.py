"""Moving a live call, up to the wire: Twilio's REST call update and ACS's transfer, each through its official SDK
against a local HTTPS recorder; the loopback carrier's TwiML."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from answer_ninja.telephony.acs_events import AcsCallControl
from answer_ninja.telephony.call_control import AcsTransfer, LiveCall, LoopbackCallControl, TwilioCallControl
from answer_ninja.telephony.loopback import parse_twiml
from tests.telephony.recorder import recorder

ACCOUNT = "AC" + "1" * 32
CALL = LiveCall(call_id="c1", carrier="twilio", carrier_call_id="CA" + "2" * 32, dialled="+8610012345678")


@pytest.mark.integration
async def test_twilio_take_over_updates_the_call_with_a_dial_to_the_person(tmp_path: Path) -> None:
    with recorder(tmp_path) as api:
        api.responses[f"/2010-04-01/Accounts/{ACCOUNT}/Calls/"] = (
            200,
            {"sid": CALL.carrier_call_id, "status": "in-progress"},
        )
        control = TwilioCallControl(
            ACCOUNT, "auth-token", gateway_url="https://gw.example", api_base_url=api.url, verify=False
        )
        result = await control.transfer(CALL, "+8613900000001")
        hung = await control.hang_up(CALL)
    assert result == {"carrier": "twilio", "status": "in-progress"}
    assert hung["carrier"] == "twilio"
    update, hangup = api.requests
    assert update.method == "POST"
    assert update.path == f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{CALL.carrier_call_id}.json"
    expected_auth = "Basic " + base64.b64encode(f"{ACCOUNT}:auth-token".encode()).decode()
    assert update.headers["Authorization"] == expected_auth
    answer = parse_twiml(update.body["Twiml"])
    assert answer.decision == "transfer"
    assert answer.transfer_number == "+8613900000001"
    assert answer.dial_action == "https://gw.example/twilio/dial-status?call_id=c1&takeover=1"
    assert hangup.body == {"Status": "completed"}


@pytest.mark.integration
async def test_acs_take_over_transfers_the_connection_from_the_hosted_number(tmp_path: Path) -> None:
    acs_call = LiveCall(call_id="c2", carrier="acs", carrier_call_id="corr", dialled="+8610012345678",
                        acs_connection_id="conn-9")  # fmt: skip
    with recorder(tmp_path) as api:
        api.responses["/calling/callConnections/conn-9:transferToParticipant"] = (202, {"operationContext": "x"})
        key = base64.b64encode(b"0" * 32).decode()
        control = AcsCallControl(f"endpoint={api.url}/;accesskey={key}", connection_verify=False)
        try:
            result = await AcsTransfer(control._client).transfer(acs_call, "+8613900000001")
            await AcsTransfer(control._client).hang_up(acs_call)
        finally:
            await control.close()
    assert result["carrier"] == "acs"
    transfer, hangup = api.requests
    assert transfer.path.startswith("/calling/callConnections/conn-9:transferToParticipant")
    assert transfer.body["targetParticipant"]["phoneNumber"]["value"] == "+8613900000001"
    assert transfer.body["sourceCallerIdNumber"]["value"] == "+8610012345678"
    assert transfer.body["operationContext"] == "takeover:c2"
    assert "HMAC-SHA256" in transfer.headers.get("Authorization", "")
    assert hangup.path.startswith("/calling/callConnections/conn-9:terminate")


async def test_an_unanswered_acs_call_cannot_be_moved() -> None:
    call = LiveCall(call_id="c3", carrier="acs", carrier_call_id="x", dialled="+8610012345678")
    with pytest.raises(ValueError, match="connection"):
        await AcsTransfer(client=None).transfer(call, "+8613900000001")


async def test_loopback_keeps_the_same_dial_twiml_for_the_carrier_to_fetch() -> None:
    result = await LoopbackCallControl().transfer(CALL, "+8613900000001")
    answer = parse_twiml(result["twiml"])
    assert (answer.decision, answer.transfer_number) == ("transfer", "+8613900000001")
    assert answer.dial_action == "/twilio/dial-status?call_id=c1&takeover=1"
    assert parse_twiml((await LoopbackCallControl().hang_up(CALL))["twiml"]).decision == "hangup"
