"""Whitelist imports from CSV and vCard files: read as the bytes arrive, parsed and normalised in batches off the
event loop, inserted in bulk, bounded in size.

Issue 10 measured a 30,000-row import blocking user-management for 2.9 s: ``phonenumbers`` (pure Python) ran on
the event loop for every row, and every row was an ORM object. Here the body is read chunk by chunk (a body past
WHITELIST_IMPORT_MAX_BYTES is refused with 413 as soon as it gets there), each batch of lines is parsed and
normalised in a worker thread (the loop keeps answering between and during batches), and the rows go in with one
multi-row INSERT per batch, in one transaction: an import that would take the list past WHITELIST_MAX_ENTRIES
changes nothing (422).
"""

from __future__ import annotations

import asyncio
import codecs
import csv
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime

import vobject
from fastapi import HTTPException
from sqlalchemy import Table, insert

from answer_ninja.platform.db.engine import Database
from answer_ninja.platform.db.models import WhitelistEntry, new_id
from answer_ninja.services.user_management import service
from answer_ninja.services.user_management.models import ImportResult
from answer_ninja.telephony.phone_numbers import InvalidPhoneNumberError, to_e164

# Header names people's address-book exports use for the number and the name column.
_NUMBER_HEADERS = ("number", "phone", "phone number", "mobile", "tel", "telephone", "电话", "手机", "号码")
_NAME_HEADERS = ("name", "full name", "display name", "姓名", "名字")
# Lines per worker-thread batch: large enough that thread hand-offs cost nothing, small enough that one batch
# (~2,000 phonenumbers parses, ~60 ms) never holds the GIL long enough to delay /health noticeably.
BATCH_LINES = 2000
# Core INSERTs (not ORM objects): 30,000 rows are data, not a unit of work to track.
WHITELIST_TABLE: Table = WhitelistEntry.__table__  # type: ignore[assignment]
# Rows per INSERT statement.
INSERT_ROWS = 500
# Unreadable numbers listed back to the user (the rest are counted, not listed).
MAX_INVALID_LISTED = 100


class ContactFileError(ValueError):
    """The file cannot be read as the format it claims to be, or would break a limit."""


async def lines_of(chunks: AsyncIterator[bytes], *, max_bytes: int) -> AsyncIterator[list[str]]:
    """Batches of text lines from a UTF-8 byte stream, refused with 413 once it passes ``max_bytes``."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    received, pending, batch = 0, "", []
    async for chunk in chunks:
        received += len(chunk)
        if received > max_bytes:
            raise HTTPException(status_code=413, detail=f"content: larger than {max_bytes} bytes")
        pending += decoder.decode(chunk)
        *complete, pending = pending.split("\n")
        batch.extend(complete)
        if len(batch) >= BATCH_LINES:
            yield batch
            batch = []
    pending += decoder.decode(b"", final=True)
    if pending:
        batch.append(pending)
    if batch:
        yield batch


class CsvContacts:
    """(number as written, name) pairs from CSV lines fed batch by batch; the first non-empty row decides the
    columns (a header naming the number column, or column 1 = number)."""

    def __init__(self) -> None:
        self.number_col: int | None = None
        self.name_col: int | None = None

    def feed(self, lines: list[str]) -> list[tuple[str, str]]:
        # Lines end in \n, \r\n or (old Mac exports) a bare \r: each \r ends a line too, so csv never meets one.
        rows = csv.reader(part for line in lines for part in line.rstrip("\r").split("\r"))
        try:
            return self._contacts(rows)
        except csv.Error as error:  # e.g. a field larger than csv's limit: the file, not the server, is at fault
            raise ContactFileError(f"content: not readable as CSV ({error})") from None

    def _contacts(self, rows: Iterator[list[str]]) -> list[tuple[str, str]]:
        contacts: list[tuple[str, str]] = []
        for row in rows:
            if not any(cell.strip() for cell in row):
                continue
            if self.number_col is None:
                row = [row[0].lstrip("\ufeff"), *row[1:]]
                header = [cell.strip().lower() for cell in row]
                number_col = next((i for i, cell in enumerate(header) if cell in _NUMBER_HEADERS), None)
                if number_col is not None:
                    self.number_col = number_col
                    self.name_col = next((i for i, cell in enumerate(header) if cell in _NAME_HEADERS), None)
                    continue
                self.number_col, self.name_col = 0, (1 if len(header) > 1 else None)
            if self.number_col >= len(row) or not row[self.number_col].strip():
                continue
            name = row[self.name_col].strip() if self.name_col is not None and self.name_col < len(row) else ""
            contacts.append((row[self.number_col].strip(), name))
        return contacts


def contacts_from_csv(text: str) -> list[tuple[str, str]]:
    """Rows of a whole CSV text (see ``CsvContacts``)."""
    return CsvContacts().feed(text.split("\n"))


def contacts_from_vcard(text: str) -> list[tuple[str, str]]:
    """Every TEL of every vCard, with the card's formatted name."""
    contacts = []
    try:
        for card in vobject.readComponents(text):
            name = str(card.fn.value).strip() if hasattr(card, "fn") else ""
            for tel in card.contents.get("tel", []):
                contacts.append((str(tel.value).strip(), name))
    except Exception as error:  # vobject raises several unrelated types for malformed input
        raise ContactFileError(f"not a readable vCard: {type(error).__name__}") from None
    return contacts


def normalised(contacts: Iterable[tuple[str, str]], region: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(E.164, name) pairs and the unreadable numbers as written. Runs in a worker thread."""
    good, bad = [], []
    for raw, name in contacts:
        try:
            good.append((to_e164(raw, region=region), name[:120]))
        except InvalidPhoneNumberError:
            bad.append(raw[:40])
    return good, bad


async def _contacts(
    file_format: str, lines: AsyncIterator[list[str]], region: str
) -> AsyncIterator[tuple[list[tuple[str, str]], list[str]]]:
    if file_format == "csv":
        reader = CsvContacts()
        async for batch in lines:
            yield await asyncio.to_thread(lambda batch=batch: normalised(reader.feed(batch), region))  # type: ignore[misc]
        return
    # vCards span lines and vobject wants whole cards: gather the (size-bounded) text, parse it in a thread.
    text = "\n".join([line async for batch in lines for line in batch])
    contacts = await asyncio.to_thread(contacts_from_vcard, text)
    for start in range(0, len(contacts), BATCH_LINES):
        yield await asyncio.to_thread(normalised, contacts[start : start + BATCH_LINES], region)


def new_rows(
    good: list[tuple[str, str]], known: set[str], *, user_id: str, now: datetime
) -> tuple[list[dict[str, object]], int]:
    """Rows to insert for the numbers not yet on the list (``known`` grows), and how many were there already.
    Runs in a worker thread: for 30,000 rows this is real work the event loop should not do."""
    rows: list[dict[str, object]] = []
    present = 0
    for number, name in good:
        if number in known:
            present += 1
            continue
        known.add(number)
        rows.append(
            {
                "id": new_id(),
                "user_id": user_id,
                "number": number,
                "name": name,
                "kind": "import",
                "status": "active",
                "expires_at": None,
                "created_at": now,
            }
        )
    return rows, present


async def import_contacts(
    database: Database,
    *,
    user_id: str,
    file_format: str,
    lines: AsyncIterator[list[str]],
    region: str,
    max_entries: int,
) -> ImportResult:
    """Add the file's numbers to the user's whitelist (kind "import"), skipping those already on it."""
    imported, present, invalid_count = 0, 0, 0
    invalid: list[str] = []
    now = datetime.now(UTC)
    async with database.session() as session:
        known = await service.whitelist_numbers(session, user_id=user_id)
        async for good, bad in _contacts(file_format, lines, region):
            invalid_count += len(bad)
            invalid.extend(bad[: max(0, MAX_INVALID_LISTED - len(invalid))])
            rows, already = await asyncio.to_thread(new_rows, good, known, user_id=user_id, now=now)
            present += already
            if len(known) > max_entries:
                await session.rollback()
                raise ContactFileError(
                    f"the whitelist would pass its limit of {max_entries} entries; nothing was imported"
                )
            # Short INSERTs, with the loop free in between: each costs the loop a few ms of parameter handling.
            for start in range(0, len(rows), INSERT_ROWS):
                await session.execute(insert(WHITELIST_TABLE), rows[start : start + INSERT_ROWS])
                await asyncio.sleep(0)
            imported += len(rows)
        if imported:
            await service.touch_routing(session, user_id=user_id)
        await session.commit()
    return ImportResult(imported=imported, already_present=present, invalid=invalid, invalid_count=invalid_count)
