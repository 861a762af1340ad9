from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import HTTPException

from answer_ninja.services.user_management.imports import (
    ContactFileError,
    CsvContacts,
    contacts_from_csv,
    contacts_from_vcard,
    lines_of,
    normalised,
)

VCARDS = """BEGIN:VCARD
VERSION:3.0
FN:张三
TEL;TYPE=CELL:138 0013 8000
TEL;TYPE=WORK:010-1234-5678
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Alice
TEL:+1 415 555 2671
END:VCARD
"""


def test_csv_with_header_in_any_order() -> None:
    text = "\ufeffName,Phone\n张三,138 0013 8000\nAlice,+1 415 555 2671\n,\n"
    assert contacts_from_csv(text) == [("138 0013 8000", "张三"), ("+1 415 555 2671", "Alice")]


def test_csv_without_header_uses_the_first_column() -> None:
    assert contacts_from_csv("13800138000,Bob\n13900000001\n") == [("13800138000", "Bob"), ("13900000001", "")]


def test_chinese_headers() -> None:
    assert contacts_from_csv("姓名,手机\n李四,13700000000\n") == [("13700000000", "李四")]


def test_vcards_yield_every_number_with_the_cards_name() -> None:
    assert contacts_from_vcard(VCARDS) == [
        ("138 0013 8000", "张三"),
        ("010-1234-5678", "张三"),
        ("+1 415 555 2671", "Alice"),
    ]


def test_broken_vcard_is_an_error() -> None:
    with pytest.raises(ContactFileError):
        contacts_from_vcard("BEGIN:VCARD\nFN:x\n")


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_lines_arrive_in_batches_across_chunk_and_character_boundaries() -> None:
    text = "name,phone\n张三,138 0013 8000\nAlice,+1 415 555 2671\n"
    raw = text.encode()
    split = raw.index("张".encode()) + 1  # inside the multi-byte character
    batches = [batch async for batch in lines_of(_chunks(raw[:split], raw[split:]), max_bytes=1000)]
    lines = [line for batch in batches for line in batch]
    assert lines == ["name,phone", "张三,138 0013 8000", "Alice,+1 415 555 2671"]


async def test_a_body_past_the_limit_is_refused_with_413_as_soon_as_it_gets_there() -> None:
    read = []

    async def endless() -> AsyncIterator[bytes]:
        while True:
            read.append(1)
            yield b"13800138000\n" * 100

    with pytest.raises(HTTPException) as refused:
        async for _ in lines_of(endless(), max_bytes=10_000):
            pass
    assert refused.value.status_code == 413
    assert "content" in str(refused.value.detail)
    assert len(read) <= 10  # stopped reading at the limit, not at the end of the stream


def test_csv_fed_batch_by_batch_keeps_its_header() -> None:
    reader = CsvContacts()
    first = reader.feed(["Phone,Name", "138 0013 8000,Mum"])
    second = reader.feed(["13900000002,Dad", ","])
    assert first + second == [("138 0013 8000", "Mum"), ("13900000002", "Dad")]


def test_normalised_splits_good_and_unreadable_numbers() -> None:
    good, bad = normalised([("138 0013 8000", "Mum"), ("12", "Bad")], "CN")
    assert good == [("+8613800138000", "Mum")]
    assert bad == ["12"]


def test_csv_with_bare_carriage_returns_reads_each_as_a_line() -> None:
    # Old Mac exports end lines in \r alone; a stray \r inside a line used to crash csv (found by schemathesis).
    assert contacts_from_csv("number,name\r+8613800138000,Wang\r+8613800138001,Li") == [
        ("+8613800138000", "Wang"),
        ("+8613800138001", "Li"),
    ]
    assert contacts_from_csv("\x98{\U0008e862{\rq") == [("\x98{\U0008e862{", ""), ("q", "")]


def test_csv_that_csv_cannot_read_is_a_contact_file_error() -> None:
    with pytest.raises(ContactFileError, match="content"):
        contacts_from_csv('"' + "x" * 200_000)  # one field past csv's limit
