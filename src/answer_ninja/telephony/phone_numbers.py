"""Phone numbers in E.164, read with the ``phonenumbers`` library (Chinese numbers included)."""

from __future__ import annotations

import functools
import hashlib
import hmac

import phonenumbers

# Test and service numbers (the synthetic probe +10000000000, carriers' test numbers) are not "valid" by the
# numbering plan, but they are well-formed; routing must still handle them, so only possibility is required.


class InvalidPhoneNumberError(ValueError):
    """The text is not a phone number we can read."""


# Parsing is the costliest step of a routing decision; the same callers and hosted numbers recur all day.
@functools.lru_cache(maxsize=100_000)
def to_e164(raw: str, *, region: str = "CN") -> str:
    """Normalise ``raw`` ("138 0013 8000", "+86 138-0013-8000", "0086...") to E.164 ("+8613800138000")."""
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text or len(text) > 40:
        raise InvalidPhoneNumberError("not a phone number")
    try:
        parsed = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException as error:
        raise InvalidPhoneNumberError(str(error)) from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumberError("not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def to_e164_or_raw(raw: str, *, region: str = "CN") -> str:
    """E.164 when readable; the trimmed text otherwise ("anonymous", "client:alice" from carriers)."""
    try:
        return to_e164(raw, region=region)
    except InvalidPhoneNumberError:
        return raw.strip()[:32]


def caller_hash(e164: str, secret: bytes) -> str:
    """Keyed hash of a number: an HMAC, because a plain SHA-256 of a phone number is reversed by enumeration."""
    return hmac.new(secret, e164.encode(), hashlib.sha256).hexdigest()


# Number types calls may be forwarded to: numbers a person answers. Every other type costs the caller (and so the
# carrier account paying for the forwarded leg) per minute at rates someone else sets (premium rate, shared cost,
# personal numbering "070", universal access), or reaches no person (pager, voicemail, toll free lines of
# businesses): forwarding there is toll fraud's favourite door.
PERSONAL_NUMBER_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        phonenumbers.PhoneNumberType.VOIP,
    }
)
_TYPE_NAMES = {
    value: name.lower()
    for name, value in vars(phonenumbers.PhoneNumberType).items()
    if name.isupper() and isinstance(value, int)
}


def number_type(e164: str) -> str:
    """The numbering plan's type of an E.164 number: "mobile", "premium_rate", "toll_free" ... or "unknown"."""
    parsed = phonenumbers.parse(e164, None)
    if not phonenumbers.is_valid_number(parsed):
        return "unknown"
    return _TYPE_NAMES.get(phonenumbers.number_type(parsed), "unknown")


def forwarding_refusal(e164: str) -> str | None:
    """Why calls must not be forwarded to ``e164`` (None when it is a personal number: mobile, fixed line, VoIP)."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "not a phone number"
    if not phonenumbers.is_valid_number(parsed):
        return "not a number in service in its country's numbering plan"
    kind = phonenumbers.number_type(parsed)
    if kind in PERSONAL_NUMBER_TYPES:
        return None
    name = _TYPE_NAMES.get(kind, "unknown").replace("_", " ")
    return f"a {name} number: calls are forwarded only to mobile, fixed-line or VoIP numbers"
