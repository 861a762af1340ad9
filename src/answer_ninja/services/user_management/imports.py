"""Read contacts from CSV and vCard files: (number as written, name) pairs, before normalisation."""

from __future__ import annotations

import csv
import io

import vobject

# Header names people's address-book exports use for the number and the name column.
_NUMBER_HEADERS = ("number", "phone", "phone number", "mobile", "tel", "telephone", "电话", "手机", "号码")
_NAME_HEADERS = ("name", "full name", "display name", "姓名", "名字")


class ContactFileError(ValueError):
    """The file cannot be read as the format it claims to be."""


def contacts_from_csv(text: str) -> list[tuple[str, str]]:
    """Rows of a CSV with a header naming the number column; without a recognised header, column 1 = number."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    number_col = next((i for i, cell in enumerate(header) if cell in _NUMBER_HEADERS), None)
    name_col = next((i for i, cell in enumerate(header) if cell in _NAME_HEADERS), None)
    if number_col is None:
        number_col, name_col, body = 0, (1 if len(header) > 1 else None), rows
    else:
        body = rows[1:]
    contacts = []
    for row in body:
        if number_col >= len(row) or not row[number_col].strip():
            continue
        name = row[name_col].strip() if name_col is not None and name_col < len(row) else ""
        contacts.append((row[number_col].strip(), name))
    return contacts


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
