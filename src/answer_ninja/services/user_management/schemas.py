"""What the three services' HTTP bodies share: request text must be storable as it is (the base of every
request body), response times carry their UTC offset, ids in paths have one shape.

PostgreSQL refuses NUL characters in text columns; a body carrying one is bad input (422 naming the field),
not a database error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import AfterValidator, BaseModel, field_validator

# Identifiers in paths and queries: our ids are uuid4 hex; carriers' ids are letters, digits, '-' and '_'.
ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
HASH_PATTERN = r"^[0-9a-f]{64}$"


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time we store is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# A datetime in a response: always with its UTC offset, whichever database it came from.
UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]


class RequestModel(BaseModel):
    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        if isinstance(value, list) and any(isinstance(item, str) and "\x00" in item for item in value):
            raise ValueError("must not contain NUL characters")
        return value


def id_path() -> Any:
    """A path parameter holding an id. A fresh object per route: FastAPI binds it to the parameter it serves."""
    return Path(pattern=ID_PATTERN)
