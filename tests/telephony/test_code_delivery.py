"""Verification codes to the wire: Twilio's Messages and Calls APIs through the official SDK, against a local HTTPS
recorder; the loopback carrier keeps and logs what it 'sends'."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from answer_ninja.telephony.code_delivery import LoopbackSender, TwilioSender, spoken_twiml
from tests.telephony.recorder import recorder

ACCOUNT = "AC" + "0" * 32
TOKEN = "test-twilio-auth-token-0123456789"


async def test_loopback_keeps_the_last_code_per_number() -> None:
    sender = LoopbackSender()
    await sender.send(number="+8613900000001", code="111111", channel="sms")
    await sender.send(number="+8613900000002", code="222222", channel="call")
    await sender.send(number="+8613900000001", code="333333", channel="sms")
    assert sender.last_code("+8613900000001") == "333333"
    assert sender.last_code("+8613900000002") == "222222"
    assert sender.last_code("+8613900000009") is None


def test_the_spoken_code_is_said_digit_by_digit_twice() -> None:
    twiml = spoken_twiml("123456")
    assert twiml.count("1, 2, 3, 4, 5, 6") == 2
    assert twiml.startswith("<?xml")


@pytest.mark.integration
async def test_sms_and_call_reach_twilio_rest_as_the_sdk_sends_them(tmp_path: Path) -> None:
    with recorder(tmp_path) as api:
        api.responses[f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"] = (201, {"sid": "SM1", "status": "queued"})
        api.responses[f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"] = (201, {"sid": "CA1", "status": "queued"})
        sender = TwilioSender(
            account_sid=ACCOUNT,
            auth_token=TOKEN,
            from_number="+14155550100",
            api_url=api.url,
            verify=False,  # the recorder's throwaway certificate names no IP address
        )
        await sender.send(number="+8613900000001", code="654321", channel="sms")
        await sender.send(number="+8613900000001", code="654321", channel="call")
    sms, call = api.requests
    assert sms.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert (sms.body["To"], sms.body["From"]) == ("+8613900000001", "+14155550100")
    assert "654321" in sms.body["Body"]
    expected_auth = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    assert sms.headers["Authorization"] == expected_auth
    assert call.path == f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
    assert call.body["To"] == "+8613900000001"
    assert "6, 5, 4, 3, 2, 1" in call.body["Twiml"]


@pytest.mark.integration
async def test_a_carrier_error_surfaces_as_an_exception(tmp_path: Path) -> None:
    with recorder(tmp_path) as api:
        api.responses["/2010-04-01/"] = (400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400})
        sender = TwilioSender(
            account_sid=ACCOUNT, auth_token=TOKEN, from_number="+14155550100", api_url=api.url, verify=False
        )
        with pytest.raises(Exception, match="Invalid"):
            await sender.send(number="+8613900000001", code="654321", channel="sms")
