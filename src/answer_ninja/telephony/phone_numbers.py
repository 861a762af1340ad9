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
