from __future__ import annotations

import pytest

from answer_ninja.telephony.phone_numbers import (
    InvalidPhoneNumberError,
    caller_hash,
    forwarding_refusal,
    number_type,
    to_e164,
    to_e164_or_raw,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("138 0013 8000", "+8613800138000"),  # Chinese mobile, no country code: the default region
        ("+86 138-0013-8000", "+8613800138000"),
        ("0086 13800138000", "+8613800138000"),
        ("010 1234 5678", "+861012345678"),  # Beijing landline with trunk prefix
        ("+1 (415) 555-2671", "+14155552671"),
        ("+10000000000", "+10000000000"),  # the synthetic probe number is well-formed enough
    ],
)
def test_to_e164(raw: str, expected: str) -> None:
    assert to_e164(raw) == expected


def test_region_changes_how_national_numbers_read() -> None:
    assert to_e164("(415) 555-2671", region="US") == "+14155552671"


@pytest.mark.parametrize("raw", ["", "hello", "12", "+" + "9" * 30])
def test_invalid_numbers_raise(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumberError):
        to_e164(raw)


def test_unreadable_caller_ids_pass_through_trimmed() -> None:
    assert to_e164_or_raw(" anonymous ") == "anonymous"
    assert to_e164_or_raw("13800138000") == "+8613800138000"


def test_caller_hash_is_keyed() -> None:
    number = "+8613800138000"
    assert caller_hash(number, b"one") == caller_hash(number, b"one")
    assert caller_hash(number, b"one") != caller_hash(number, b"two")
    assert len(caller_hash(number, b"one")) == 64


@pytest.mark.parametrize(
    ("number", "kind"),
    [
        ("+19005550123", "premium rate"),  # US 900
        ("+448712345678", "premium rate"),  # UK 0871
        ("+447012345678", "personal number"),  # UK 070 "personal numbering", charged at premium rates
        ("+18005550199", "toll free"),
        ("+8610012345678", "in service"),  # not a valid Chinese number: nobody can say what it costs
    ],
)
def test_forwarding_is_refused_for_non_personal_numbers(number: str, kind: str) -> None:
    refusal = forwarding_refusal(number)
    assert refusal is not None
    assert kind in refusal


@pytest.mark.parametrize("number", ["+8613900000001", "+8613800138000", "+16502530000", "+447911123456"])
def test_forwarding_is_allowed_to_mobile_and_fixed_numbers(number: str) -> None:
    assert forwarding_refusal(number) is None
    assert number_type(number) in {"mobile", "fixed_line", "fixed_line_or_mobile"}
