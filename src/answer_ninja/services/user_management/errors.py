"""Errors the HTTP layer renders: a bad field is a 422 naming it, in the app factory's shape."""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError


def field_error(field: str, message: str, *, location: str = "body") -> RequestValidationError:
    """A 422 naming ``field``, rendered like every other validation error (``error`` + ``fields``)."""
    return RequestValidationError([{"loc": (location, *field.split(".")), "msg": message, "type": "value_error"}])
