from __future__ import annotations

import pytest

from answer_ninja.telephony.phone_numbers import InvalidPhoneNumberError, caller_hash, to_e164, to_e164_or_raw


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
